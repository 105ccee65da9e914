// The operational data model as the front-end sees it: one description per entity drives its
// grid columns, its add/edit form, its picker label and its API paths, so the five tabs share one
// generic implementation instead of five hand-written ones.
import { formatValue } from "../lib/format";

export type FieldKind = "text" | "number" | "date" | "select";

export interface FieldSpec {
  name: string;
  label: string;
  kind: FieldKind;
  required?: boolean;
  options?: string[]; // select choices, or suggestions (datalist) for text fields
  min?: number;
  max?: number;
  step?: number;
  integer?: boolean;
  personal?: boolean; // address, date of birth: "***" for users without the pii grant
  decimals?: number; // shown with this many decimals wherever it appears (GPA: 4.00)
}

export type Row = Record<string, unknown>;

// The names of the personal fields of any entity.
export const PERSONAL_FIELDS = ["address", "date_of_birth"];

export interface EntitySpec {
  key: "students" | "professors" | "courses";
  singular: string;
  plural: string;
  path: string; // "/students/"
  fields: FieldSpec[];
  // Columns shown in the grid, in order (all fields by default).
  columns?: string[];
  // How a record is named in pickers and confirmations.
  display: (row: Row) => string;
}

const GENDERS = ["Female", "Male"];
export const MAJORS = [
  "Art History", "Biology", "Business", "Chemistry", "Computer Science", "Data Science",
  "Economics", "Engineering", "English Literature", "Mathematics", "Physics",
  "Political Science", "Psychology", "Sociology", "Undeclared",
];

const personName = (row: Row) =>
  [row.title, row.first_name, row.last_name].filter((v) => v !== undefined && v !== null && v !== "").join(" ");

export const STUDENTS: EntitySpec = {
  key: "students",
  singular: "student",
  plural: "students",
  path: "/students/",
  fields: [
    { name: "id", label: "ID", kind: "text", required: true },
    { name: "first_name", label: "First name", kind: "text", required: true },
    { name: "last_name", label: "Last name", kind: "text", required: true },
    { name: "gender", label: "Gender", kind: "text", options: GENDERS },
    { name: "address", label: "Address", kind: "text", personal: true },
    { name: "date_of_birth", label: "Date of birth", kind: "date", personal: true },
    { name: "major", label: "Major", kind: "text", options: MAJORS },
    { name: "year_of_study", label: "Year of study", kind: "number", min: 1, max: 6, step: 1, integer: true },
    { name: "gpa", label: "GPA", kind: "number", min: 0, max: 4, step: 0.01, decimals: 2 },
    { name: "enrollment_status", label: "Enrollment status", kind: "select", options: ["Full-time", "Part-time"] },
  ],
  display: personName,
};

export const PROFESSORS: EntitySpec = {
  key: "professors",
  singular: "professor",
  plural: "professors",
  path: "/professors/",
  fields: [
    { name: "id", label: "ID", kind: "text", required: true },
    { name: "title", label: "Title", kind: "text", options: ["Dr.", "Mr.", "Mrs.", "Ms."] },
    { name: "first_name", label: "First name", kind: "text", required: true },
    { name: "last_name", label: "Last name", kind: "text", required: true },
    { name: "gender", label: "Gender", kind: "text", options: GENDERS },
    { name: "address", label: "Address", kind: "text", personal: true },
    { name: "department", label: "Department", kind: "text" },
    { name: "date_of_birth", label: "Date of birth", kind: "date", personal: true },
    { name: "annual_salary", label: "Annual salary", kind: "number", min: 0, step: 1000, integer: true },
  ],
  display: personName,
};

export const COURSES: EntitySpec = {
  key: "courses",
  singular: "course",
  plural: "courses",
  path: "/courses/",
  fields: [
    { name: "id", label: "ID", kind: "text", required: true },
    { name: "name", label: "Name", kind: "text", required: true },
    { name: "units", label: "Units", kind: "number", min: 1, max: 4, step: 1, integer: true },
    { name: "department", label: "Department", kind: "text" },
  ],
  display: (row) => String(row.name ?? ""),
};

export const ENTITIES = [STUDENTS, PROFESSORS, COURSES];

const kDecimals = new Map(ENTITIES.flatMap((e) => e.fields.filter((f) => f.decimals !== undefined).map((f) => [f.name, f.decimals!] as const)));

// A value of field `name` (of any entity, in any view: grids, dimensions, history) as text: with
// the field's fixed decimals when it has them, as formatValue shows it otherwise.
export function formatField(name: string, value: unknown): string {
  const decimals = kDecimals.get(name);
  const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  if (decimals === undefined || !Number.isFinite(n)) return formatValue(value);
  return n.toFixed(decimals);
}

// A link between two entities in a semester: enrollments (student–course) and assignments
// (professor–course).
export interface LinkSpec {
  key: "enrollments" | "assignments";
  title: string;
  path: string; // "/enrollments/"
  // nameField: the name the listing carries beside the id with ?expand=names ("student_name").
  left: { field: string; nameField: string; entity: EntitySpec };
  right: { field: string; nameField: string; entity: EntitySpec };
  addVerb: string; // "Enroll"
  removeVerb: string; // "Drop"
  addedVerb: string; // "Enrolled"
  removedVerb: string; // "Dropped"
  generateKey: string; // key in POST /generate
}

export const ENROLLMENTS: LinkSpec = {
  key: "enrollments",
  title: "Enrollments",
  path: "/enrollments/",
  left: { field: "student_id", nameField: "student_name", entity: STUDENTS },
  right: { field: "course_id", nameField: "course_name", entity: COURSES },
  addVerb: "Enroll",
  removeVerb: "Drop",
  addedVerb: "Enrolled",
  removedVerb: "Dropped",
  generateKey: "enrollments",
};

export const ASSIGNMENTS: LinkSpec = {
  key: "assignments",
  title: "Assignments",
  path: "/assignments/",
  left: { field: "professor_id", nameField: "professor_name", entity: PROFESSORS },
  right: { field: "course_id", nameField: "course_name", entity: COURSES },
  addVerb: "Assign",
  removeVerb: "Unassign",
  addedVerb: "Assigned",
  removedVerb: "Unassigned",
  generateKey: "assignments",
};

// Converts form strings into the JSON the API expects: numbers for number fields, null for an
// empty optional field. Strings are trimmed.
export function formToRecord(spec: EntitySpec, values: Record<string, string>): Row {
  const record: Row = {};
  for (const field of spec.fields) {
    const raw = (values[field.name] ?? "").trim();
    if (field.kind === "number") {
      record[field.name] = raw === "" ? null : Number(raw);
    } else {
      record[field.name] = raw === "" ? (field.required ? "" : null) : raw;
    }
  }
  return record;
}

// The inverse: a record from the API as form strings.
export function recordToForm(spec: EntitySpec, row: Row): Record<string, string> {
  const values: Record<string, string> = {};
  for (const field of spec.fields) {
    const value = row[field.name];
    values[field.name] = value === null || value === undefined ? "" : String(value);
  }
  return values;
}
