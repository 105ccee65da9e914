// SemesterPicker: a term and a year, giving "Fall 2026" and the like.
import { useId } from "react";
import { TERMS, splitSemester } from "../lib/semester";

export function SemesterPicker({
  value,
  onChange,
  label = "Semester",
  error,
}: {
  value: string;
  onChange: (semester: string) => void;
  label?: string;
  error?: string;
}) {
  const id = useId();
  const parsed = splitSemester(value);
  return (
    <fieldset className={`field semester${error ? " has-error" : ""}`}>
      <legend>{label}</legend>
      <label htmlFor={`${id}-term`} className="sr-only">
        {label} term
      </label>
      <select id={`${id}-term`} value={parsed.term} onChange={(e) => onChange(`${e.target.value} ${parsed.year}`)}>
        {TERMS.map((t) => (
          <option key={t}>{t}</option>
        ))}
      </select>
      <label htmlFor={`${id}-year`} className="sr-only">
        {label} year
      </label>
      <input
        id={`${id}-year`}
        type="number"
        min={1900}
        max={2200}
        value={parsed.year}
        onChange={(e) => onChange(`${parsed.term} ${e.target.value.replace(/\D/g, "")}`)}
      />
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
    </fieldset>
  );
}
