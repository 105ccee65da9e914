// Semesters are "Fall YYYY", "Spring YYYY" or "Summer YYYY".
export const TERMS = ["Spring", "Summer", "Fall"] as const;

export function currentSemester(now = new Date()): string {
  const m = now.getMonth();
  const term = m < 5 ? "Spring" : m < 7 ? "Summer" : "Fall";
  return `${term} ${now.getFullYear()}`;
}

// Splits "Fall 2026" into term and year text; the year may be partial while being typed.
export function splitSemester(value: string): { term: string; year: string } {
  const match = /^(Spring|Summer|Fall)\s*(\d*)$/.exec(value.trim());
  return match ? { term: match[1], year: match[2] } : { term: "Fall", year: String(new Date().getFullYear()) };
}

export function parseSemester(value: string): { term: string; year: number } | null {
  const match = /^(Spring|Summer|Fall) (\d{4})$/.exec(value.trim());
  return match ? { term: match[1], year: Number(match[2]) } : null;
}

// Orders semesters chronologically (Spring, Summer, Fall within a year); unknown text sorts last.
export function semesterOrder(value: string): number {
  const s = parseSemester(value);
  return s ? s.year * 3 + TERMS.indexOf(s.term as (typeof TERMS)[number]) : Number.MAX_SAFE_INTEGER;
}
