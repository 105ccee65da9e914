// EntityForm: the add and edit form of any entity, drawn from its EntitySpec. Each input has a
// <label>; a message from the API's 422 answer appears beside the field it names (and the field
// is marked aria-invalid and described by it); other failures appear above the buttons.
import { useState, type FormEvent } from "react";
import { ApiError, type FieldErrors } from "../api/client";
import { formToRecord, recordToForm, type EntitySpec, type Row } from "../api/schema";
import { ErrorNote } from "./ErrorNote";

export interface EntityFormProps {
  spec: EntitySpec;
  mode: "add" | "edit";
  initial?: Row;
  // Sends the record; rejects with an ApiError to show its messages.
  onSubmit: (record: Row) => Promise<unknown>;
  onCancel?: () => void;
  // Fields left out of the form and of the record it sends (a user without the pii grant edits
  // a record whose personal fields read "***": sending those back would overwrite them).
  omit?: string[];
}

export function EntityForm({ spec, mode, initial, onSubmit, onCancel, omit = [] }: EntityFormProps) {
  const [values, setValues] = useState<Record<string, string>>(() => recordToForm(spec, initial ?? {}));
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const formId = `${spec.key}-${mode}`;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setFieldErrors({});
    try {
      const record = formToRecord(spec, values);
      for (const name of omit) delete record[name];
      await onSubmit(record);
    } catch (err) {
      if (err instanceof ApiError) {
        setFieldErrors(err.fieldErrors);
        const unplaced = Object.keys(err.fieldErrors).filter((f) => !spec.fields.some((s) => s.name === f));
        setError(
          Object.keys(err.fieldErrors).length === 0 || unplaced.length
            ? err.message + (unplaced.length ? ` (${unplaced.map((f) => `${f}: ${err.fieldErrors[f]}`).join("; ")})` : "")
            : null,
        );
      } else {
        setError((err as Error).message);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="entity-form" onSubmit={submit} aria-label={`${mode === "add" ? "Add" : "Edit"} ${spec.singular}`} noValidate>
      <div className="form-grid">
        {spec.fields.filter((f) => !omit.includes(f.name)).map((field) => {
          const id = `${formId}-${field.name}`;
          const err = fieldErrors[field.name];
          const readOnly = mode === "edit" && field.name === "id";
          const common = {
            id,
            name: field.name,
            value: values[field.name] ?? "",
            "aria-invalid": err ? true : undefined,
            "aria-describedby": err ? `${id}-error` : undefined,
            onChange: (e: { target: { value: string } }) => setValues((v) => ({ ...v, [field.name]: e.target.value })),
          };
          return (
            <div className={`field${err ? " has-error" : ""}`} key={field.name}>
              <label htmlFor={id}>
                {field.label}
                {field.required && <span aria-hidden="true"> *</span>}
              </label>
              {field.kind === "select" ? (
                <select {...common}>
                  <option value="">—</option>
                  {field.options!.map((o) => (
                    <option key={o}>{o}</option>
                  ))}
                </select>
              ) : (
                <input
                  {...common}
                  type={field.kind === "number" ? "number" : field.kind === "date" ? "date" : "text"}
                  min={field.min}
                  max={field.max}
                  step={field.step}
                  readOnly={readOnly}
                  required={field.required}
                  list={field.options ? `${id}-options` : undefined}
                  autoComplete="off"
                />
              )}
              {field.options && field.kind === "text" && (
                <datalist id={`${id}-options`}>
                  {field.options.map((o) => (
                    <option key={o} value={o} />
                  ))}
                </datalist>
              )}
              {err && (
                <span className="field-error" id={`${id}-error`} role="alert">
                  {err}
                </span>
              )}
            </div>
          );
        })}
      </div>
      <ErrorNote message={error} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy}>
          {mode === "add" ? `Add ${spec.singular}` : "Save changes"}
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
