// Picker: choose a record by typing part of its name or id (an ARIA combobox). It searches the
// entity's listing with q=<text> and offers the first matches; arrows move, Enter picks, Escape
// closes. The chosen record's id is the value.
import { useEffect, useId, useRef, useState, type KeyboardEvent } from "react";
import { api } from "../api/client";
import type { EntitySpec, Row } from "../api/schema";
import { useDebounced } from "../lib/useListing";

export interface PickerProps {
  spec: EntitySpec;
  label: string;
  value: string;
  onChange: (id: string) => void;
  error?: string;
}

export function Picker({ spec, label, value, onChange, error }: PickerProps) {
  const id = useId();
  const [text, setText] = useState(value);
  const [open, setOpen] = useState(false);
  const [options, setOptions] = useState<Row[]>([]);
  const [active, setActive] = useState(0);
  const search = useDebounced(text, 200);
  // The list closes a moment after the input loses focus; a picker unmounted before then must
  // not set state afterwards.
  const closeTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(closeTimer.current), []);

  useEffect(() => {
    if (value === "") setText("");
  }, [value]);

  useEffect(() => {
    if (!open) return;
    const ac = new AbortController();
    api
      .get<Row[]>(spec.path, { q: search || undefined, limit: 10 }, ac.signal)
      .then((rows) => {
        setOptions(Array.isArray(rows) ? rows : []);
        setActive(0);
      })
      .catch(() => setOptions([]));
    return () => ac.abort();
  }, [search, open, spec.path]);

  const choose = (row: Row) => {
    const rid = String(row.id);
    onChange(rid);
    setText(`${rid} — ${spec.display(row)}`);
    setOpen(false);
  };

  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      setOpen(true);
      setActive((a) => Math.min(a + 1, options.length - 1));
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      setActive((a) => Math.max(a - 1, 0));
    } else if (e.key === "Enter" && open && options[active]) {
      e.preventDefault();
      choose(options[active]);
    } else if (e.key === "Escape") {
      setOpen(false);
    }
  };

  const listId = `${id}-list`;
  return (
    <div className={`field picker${error ? " has-error" : ""}`}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        role="combobox"
        aria-expanded={open}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={open && options[active] ? `${listId}-${active}` : undefined}
        aria-invalid={error ? true : undefined}
        placeholder={`Search ${spec.plural} by name or id`}
        value={text}
        autoComplete="off"
        onChange={(e) => {
          setText(e.target.value);
          setOpen(true);
          if (value) onChange("");
        }}
        onFocus={() => {
          clearTimeout(closeTimer.current);
          setOpen(true);
        }}
        onBlur={() => {
          closeTimer.current = setTimeout(() => setOpen(false), 150);
        }}
        onKeyDown={onKey}
      />
      {open && (
        <ul className="picker-list" role="listbox" id={listId} aria-label={`${label} matches`}>
          {options.length === 0 && <li className="muted">No matches</li>}
          {options.map((row, i) => (
            <li
              key={String(row.id)}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              className={i === active ? "active" : undefined}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(row);
              }}
            >
              <span className="mono">{String(row.id)}</span> {spec.display(row)}
            </li>
          ))}
        </ul>
      )}
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
