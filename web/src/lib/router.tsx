// A small client-side router over the History API: the server falls back to index.html for any
// path, so /operational/students or /analytics/history can be bookmarked and reloaded.
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from "react";

const listeners = new Set<() => void>();

export function navigate(to: string, replace = false): void {
  if (to === window.location.pathname + window.location.search) return;
  if (replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  listeners.forEach((l) => l());
}

export interface Location {
  path: string;
  segments: string[];
  params: URLSearchParams;
}

function current(): Location {
  const path = window.location.pathname;
  return {
    path,
    segments: path.split("/").filter(Boolean),
    params: new URLSearchParams(window.location.search),
  };
}

// The current location; re-renders on navigate() and on back/forward.
export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const update = () => setLoc(current());
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return loc;
}

// An <a> that navigates without reloading; modified clicks (new tab) keep the browser's behaviour.
export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
    window.scrollTo?.(0, 0);
  };
  return <a href={href} onClick={handle} {...rest} />;
}
