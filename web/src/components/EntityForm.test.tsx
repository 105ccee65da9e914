import { describe, expect, it, vi } from "vitest";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { EntityForm } from "./EntityForm";
import { STUDENTS } from "../api/schema";
import { errorFromBody } from "../api/client";

describe("EntityForm", () => {
  it("has a label for every input", () => {
    render(<EntityForm spec={STUDENTS} mode="add" onSubmit={async () => {}} />);
    for (const field of STUDENTS.fields) expect(screen.getByLabelText(new RegExp(`^${field.label}`))).toBeTruthy();
  });

  it("shows each API validation message beside the field it names", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn(async () => {
      throw errorFromBody(422, {
        detail: [
          { loc: ["body", "gpa"], msg: "GPA must be between 0 and 4", type: "value_error" },
          { loc: ["body", "year_of_study"], msg: "must be 1 to 6", type: "value_error" },
        ],
      }, "");
    });
    render(<EntityForm spec={STUDENTS} mode="add" onSubmit={onSubmit} />);
    await user.type(screen.getByLabelText(/^ID/), "AB12");
    await user.type(screen.getByLabelText(/^GPA/), "7");
    await user.click(screen.getByRole("button", { name: "Add student" }));

    const gpa = screen.getByLabelText(/^GPA/);
    expect(gpa.getAttribute("aria-invalid")).toBe("true");
    const gpaField = gpa.closest(".field") as HTMLElement;
    expect(within(gpaField).getByRole("alert").textContent).toBe("GPA must be between 0 and 4");
    expect(document.getElementById(gpa.getAttribute("aria-describedby")!)!.textContent).toBe("GPA must be between 0 and 4");
    const year = screen.getByLabelText(/^Year of study/).closest(".field") as HTMLElement;
    expect(within(year).getByRole("alert").textContent).toBe("must be 1 to 6");
    // The other fields carry no message.
    const name = screen.getByLabelText(/^First name/).closest(".field") as HTMLElement;
    expect(within(name).queryByRole("alert")).toBeNull();
  });

  it("sends numbers as numbers and empty optional fields as null", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn(async () => {});
    render(<EntityForm spec={STUDENTS} mode="add" onSubmit={onSubmit} />);
    await user.type(screen.getByLabelText(/^ID/), "S1");
    await user.type(screen.getByLabelText(/^First name/), "Ada");
    await user.type(screen.getByLabelText(/^Last name/), "Lovelace");
    await user.type(screen.getByLabelText(/^GPA/), "3.75");
    await user.selectOptions(screen.getByLabelText(/^Enrollment status/), "Part-time");
    await user.click(screen.getByRole("button", { name: "Add student" }));
    expect(onSubmit).toHaveBeenCalledWith(
      expect.objectContaining({ id: "S1", first_name: "Ada", gpa: 3.75, year_of_study: null, enrollment_status: "Part-time", address: null }),
    );
  });

  it("prefills the edit form from the record, keeps the id read-only, and is submitted with Enter", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn(async () => {});
    render(
      <EntityForm
        spec={STUDENTS}
        mode="edit"
        initial={{ id: "S9", first_name: "Grace", last_name: "Hopper", gpa: 3.9, enrollment_status: "Part-time", year_of_study: 2 }}
        onSubmit={onSubmit}
      />,
    );
    expect((screen.getByLabelText(/^ID/) as HTMLInputElement).readOnly).toBe(true);
    expect((screen.getByLabelText(/^Enrollment status/) as HTMLSelectElement).value).toBe("Part-time");
    const gpa = screen.getByLabelText(/^GPA/) as HTMLInputElement;
    expect(gpa.value).toBe("3.9");
    await user.clear(gpa);
    await user.type(gpa, "3.1{Enter}");
    expect(onSubmit).toHaveBeenCalledWith(expect.objectContaining({ id: "S9", gpa: 3.1, enrollment_status: "Part-time", year_of_study: 2 }));
  });

  it("shows a non-field failure above the buttons", async () => {
    const user = userEvent.setup();
    render(<EntityForm spec={STUDENTS} mode="add" onSubmit={async () => Promise.reject(errorFromBody(409, { detail: "Student already registered" }, ""))} />);
    await user.click(screen.getByRole("button", { name: "Add student" }));
    expect(screen.getByRole("alert").textContent).toBe("Student already registered");
  });
});
