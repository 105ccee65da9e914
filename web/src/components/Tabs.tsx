// Tabs: a tab list whose tabs are links (each tab has its own URL), with arrow-key movement.
import type { KeyboardEvent } from "react";
import { Link, navigate } from "../lib/router";

export interface TabItem {
  key: string;
  label: string;
}

export function Tabs({ items, active, base, label }: { items: TabItem[]; active: string; base: string; label: string }) {
  const onKey = (e: KeyboardEvent) => {
    const i = items.findIndex((t) => t.key === active);
    const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    e.preventDefault();
    const next = items[(i + step + items.length) % items.length];
    navigate(`${base}/${next.key}`);
    setTimeout(() => document.getElementById(`tab-${next.key}`)?.focus(), 0);
  };
  return (
    <div className="tabs" role="tablist" aria-label={label} onKeyDown={onKey}>
      {items.map((t) => (
        <Link
          key={t.key}
          id={`tab-${t.key}`}
          href={`${base}/${t.key}`}
          role="tab"
          aria-selected={t.key === active}
          tabIndex={t.key === active ? 0 : -1}
          className={t.key === active ? "tab active" : "tab"}
        >
          {t.label}
        </Link>
      ))}
    </div>
  );
}
