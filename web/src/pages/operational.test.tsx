import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { OperationalPage } from "./operational";
import { renderAs } from "../test-render";
import { meAs, mockFetch, type Call } from "../test-utils";

const student = (i: number) => ({
  id: `S${String(i).padStart(5, "0")}`, first_name: `First${i}`, last_name: `Last${i}`, gender: "Female", address: "1 Main St",
  date_of_birth: "2004-01-02", major: "Physics", year_of_study: 2, gpa: 3.5, enrollment_status: "Full-time",
});

// A server with 100,000 students that pages and sorts as asked.
function studentServer(extra?: (call: Call) => ReturnType<Parameters<typeof mockFetch>[0]>) {
  return mockFetch((call) => {
    const r = extra?.(call);
    if (r) return r;
    if (call.url.pathname === "/api/simulation") return { body: { running: false, events: 0 } };
    if (call.method === "GET" && call.url.pathname === "/api/students/") {
      const skip = Number(call.url.searchParams.get("skip"));
      const limit = Number(call.url.searchParams.get("limit"));
      const rows = Array.from({ length: limit }, (_, i) => student(skip + i));
      return { body: rows, headers: { "X-Total-Count": "100000" } };
    }
    return undefined;
  });
}

const listings = (calls: Call[]) => calls.filter((c) => c.method === "GET" && c.url.pathname === "/api/students/").map((c) => Object.fromEntries(c.url.searchParams));

beforeEach(() => window.history.replaceState(null, "", "/operational/students"));
afterEach(() => vi.unstubAllGlobals());

describe("Operational students tab", () => {
  it("asks the server for one page and shows the total", async () => {
    const calls = studentServer();
    renderAs(<OperationalPage tab="students" />);
    await screen.findByText("S00049");
    expect(listings(calls)).toEqual([{ skip: "0", limit: "50", sort: "id", order: "asc" }]);
    expect(screen.getByText(/of 100,000/)).toBeTruthy();
    expect(screen.getAllByRole("row")).toHaveLength(51);
  });

  it("shows GPA with two decimals", async () => {
    studentServer((call) =>
      call.method === "GET" && call.url.pathname === "/api/students/"
        ? { body: [{ ...student(1), gpa: 4 }, { ...student(2), gpa: 3.5 }, { ...student(3), gpa: null }], headers: { "X-Total-Count": "3" } }
        : undefined,
    );
    renderAs(<OperationalPage tab="students" />);
    await screen.findByText("S00001");
    const gpaOf = (id: string) => {
      const row = screen.getByText(id).closest("tr")!;
      const column = screen.getAllByRole("columnheader").findIndex((h) => h.textContent?.includes("GPA"));
      return within(row).getAllByRole("cell")[column].textContent;
    };
    expect(gpaOf("S00001")).toBe("4.00");
    expect(gpaOf("S00002")).toBe("3.50");
    expect(gpaOf("S00003")).toBe("");
  });

  it("pages and sorts on the server", async () => {
    const user = userEvent.setup();
    const calls = studentServer();
    renderAs(<OperationalPage tab="students" />);
    await screen.findByText("S00000");

    await user.click(screen.getByRole("button", { name: "Next page" }));
    await screen.findByText("S00050");
    expect(listings(calls).at(-1)).toMatchObject({ skip: "50", limit: "50" });

    await user.click(screen.getByRole("button", { name: "Last page" }));
    await waitFor(() => expect(listings(calls).at(-1)).toMatchObject({ skip: "99950" }));
    expect((screen.getByRole("button", { name: "Next page" }) as HTMLButtonElement).disabled).toBe(true);

    await user.click(screen.getByRole("button", { name: /Sort by GPA/ }));
    await waitFor(() => expect(listings(calls).at(-1)).toEqual({ skip: "0", limit: "50", sort: "gpa", order: "asc" }));
    await user.click(screen.getByRole("button", { name: /Sort by GPA/ }));
    await waitFor(() => expect(listings(calls).at(-1)).toMatchObject({ sort: "gpa", order: "desc" }));
    expect(screen.getByRole("columnheader", { name: /GPA/ }).getAttribute("aria-sort")).toBe("descending");

    await user.selectOptions(screen.getByLabelText("Rows per page"), "100");
    await waitFor(() => expect(listings(calls).at(-1)).toMatchObject({ skip: "0", limit: "100" }));
  });

  it("searches with q after typing stops", async () => {
    const user = userEvent.setup();
    const calls = studentServer();
    renderAs(<OperationalPage tab="students" />);
    await screen.findByText("S00000");
    await user.type(screen.getByLabelText("Search students"), "Lovelace");
    await waitFor(() => expect(listings(calls).at(-1)).toMatchObject({ q: "Lovelace", skip: "0" }));
    expect(listings(calls).filter((q) => q.q && q.q !== "Lovelace")).toEqual([]);
  });

  it("offers the cascade when the server refuses a delete with 409", async () => {
    const user = userEvent.setup();
    const calls = studentServer((call) => {
      if (call.method !== "DELETE") return undefined;
      if (call.url.searchParams.get("cascade") === "true") return { body: { ok: true } };
      return { status: 409, body: { detail: "student S00001 is referred to by 3 enrollments" } };
    });
    renderAs(<OperationalPage tab="students" />);
    await screen.findByText("S00001");
    await user.click(screen.getByRole("button", { name: "Delete S00001" }));
    const dialog = screen.getByRole("dialog");
    await user.click(within(dialog).getByRole("button", { name: "Delete" }));
    expect((await within(dialog).findByRole("alert")).textContent).toContain("referred to by 3 enrollments");
    await user.click(within(dialog).getByRole("button", { name: /everything that refers to it/ }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    const deletes = calls.filter((c) => c.method === "DELETE").map((c) => c.url.pathname + c.url.search);
    expect(deletes).toEqual(["/api/students/S00001", "/api/students/S00001?cascade=true"]);
    expect(screen.getByText("Deleted student S00001.")).toBeTruthy();
  });

  it("edits a record in a form prefilled from GET /students/{id} and sends PUT", async () => {
    const user = userEvent.setup();
    const calls = studentServer((call) => {
      if (call.method === "GET" && call.url.pathname === "/api/students/S00002") return { body: { ...student(2), gpa: 2.25 } };
      if (call.method === "PUT") return { body: call.body };
      return undefined;
    });
    renderAs(<OperationalPage tab="students" />);
    await screen.findByText("S00002");
    await user.click(screen.getByRole("button", { name: "Edit S00002" }));
    const dialog = await screen.findByRole("dialog");
    const gpa = within(dialog).getByLabelText(/^GPA/) as HTMLInputElement;
    expect(gpa.value).toBe("2.25");
    await user.clear(gpa);
    await user.type(gpa, "3.33");
    await user.click(within(dialog).getByRole("button", { name: "Save changes" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    const put = calls.find((c) => c.method === "PUT")!;
    expect(put.url.pathname).toBe("/api/students/S00002");
    expect(put.body).toMatchObject({ id: "S00002", gpa: 3.33, first_name: "First2" });
  });

  it("generates N random records through POST /generate", async () => {
    const user = userEvent.setup();
    const calls = studentServer((call) => (call.url.pathname === "/api/generate" ? { body: { students: 1000 } } : undefined));
    renderAs(<OperationalPage tab="students" />);
    await screen.findByText("S00000");
    const count = screen.getByLabelText("Generate random students");
    await user.clear(count);
    await user.type(count, "1000");
    await user.click(screen.getByRole("button", { name: "Generate" }));
    expect(await screen.findByText("Generated 1,000 students.")).toBeTruthy();
    expect(calls.find((c) => c.url.pathname === "/api/generate")!.body).toEqual({ students: 1000 });
  });
});

describe("Operational enrollments tab", () => {
  it("enrolls through pickers that search by name, then drops with the JSON body", async () => {
    const user = userEvent.setup();
    const calls = mockFetch((call) => {
      const p = call.url.pathname;
      if (p === "/api/simulation") return { body: { running: false } };
      if (p === "/api/students/") return { body: [student(7)].filter(() => (call.url.searchParams.get("q") ?? "").includes("Last7") || !call.url.searchParams.get("q")) };
      if (p === "/api/courses/") return { body: [{ id: "CS101", name: "Intro to computing", units: 4, department: "CS" }] };
      if (p === "/api/enrollments/" && call.method === "GET") return { body: [{ student_id: "S00007", course_id: "CS101", semester: "Fall 2026" }], headers: { "X-Total-Count": "1" } };
      if (p === "/api/enrollments/") return { body: { ok: true } };
      return undefined;
    });
    renderAs(<OperationalPage tab="enrollments" />);
    const studentBox = screen.getByRole("combobox", { name: "Student" });
    await user.type(studentBox, "Last7");
    await waitFor(() => expect(calls.some((c) => c.url.pathname === "/api/students/" && c.url.searchParams.get("q") === "Last7")).toBe(true));
    await user.click(await screen.findByRole("option", { name: /S00007 First7 Last7/ }));
    const courseBox = screen.getByRole("combobox", { name: "Course" });
    await user.click(courseBox);
    await screen.findByRole("option", { name: /CS101/ });
    await user.keyboard("{ArrowDown}{Enter}");
    await user.selectOptions(screen.getByLabelText("Semester term"), "Fall");
    const year = screen.getByLabelText("Semester year");
    await user.clear(year);
    await user.type(year, "2026");
    await user.click(screen.getByRole("button", { name: "Enroll" }));
    await screen.findByText(/Enrolled S00007 in CS101 for Fall 2026/);
    expect(calls.find((c) => c.method === "POST")!.body).toEqual({ student_id: "S00007", course_id: "CS101", semester: "Fall 2026" });

    await user.click(screen.getByRole("button", { name: "Drop" }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Drop" }));
    await screen.findByText(/Dropped S00007 from CS101/);
    const del = calls.find((c) => c.method === "DELETE")!;
    expect(del.url.pathname).toBe("/api/enrollments/");
    expect(del.body).toEqual({ student_id: "S00007", course_id: "CS101", semester: "Fall 2026" });
  });

  it("shows each side's name above its id, from one page request with expand=names", async () => {
    const calls = mockFetch((call) => {
      const p = call.url.pathname;
      if (p === "/api/enrollments/" && call.method === "GET") {
        return {
          body: [
            { student_id: "S00007", course_id: "CS101", semester: "Fall 2026", student_name: "First7 Last7", course_name: "Intro to computing" },
            { student_id: "S00008", course_id: "CS102", semester: "Fall 2026", student_name: null, course_name: "Data structures" },
          ],
          headers: { "X-Total-Count": "2" },
        };
      }
      return { body: { running: false } };
    });
    renderAs(<OperationalPage tab="enrollments" />);
    const grid = await screen.findByRole("table", { name: "Enrollments" });
    const rows = await within(grid).findAllByRole("row");
    expect(rows).toHaveLength(3);
    const cells = (row: HTMLElement) => within(row).getAllByRole("cell").map((c) => c.textContent);
    expect(cells(rows[1]).slice(0, 3)).toEqual(["First7 Last7S00007", "Intro to computingCS101", "Fall 2026"]);
    // A record that is gone keeps its id and says so instead of failing the page.
    expect(cells(rows[2]).slice(0, 2)).toEqual(["(missing)S00008", "Data structuresCS102"]);
    expect(within(rows[1]).getByText("S00007").className).toContain("mono");
    const gets = calls.filter((c) => c.method === "GET" && c.url.pathname === "/api/enrollments/");
    expect(gets).toHaveLength(1);
    expect(gets[0].url.searchParams.get("expand")).toBe("names");
    expect(calls.filter((c) => c.url.pathname.startsWith("/api/students") || c.url.pathname.startsWith("/api/courses"))).toEqual([]);
  });

  it("asks for a student and a course before sending anything", async () => {
    const user = userEvent.setup();
    const calls = mockFetch((call) => (call.url.pathname === "/api/enrollments/" ? { body: [] } : { body: { running: false } }));
    renderAs(<OperationalPage tab="enrollments" />);
    await user.click(screen.getByRole("button", { name: "Enroll" }));
    expect(screen.getByText("Choose a student")).toBeTruthy();
    expect(screen.getByText("Choose a course")).toBeTruthy();
    expect(calls.filter((c) => c.method === "POST")).toEqual([]);
  });
});

describe("What each role is offered", () => {
  it("shows a viewer or an analyst no control that writes", async () => {
    for (const role of ["viewer", "analyst"] as const) {
      studentServer();
      const { unmount } = renderAs(<OperationalPage tab="students" />, meAs(role));
      await screen.findByText("S00001");
      expect(screen.queryByRole("button", { name: "Delete S00001" })).toBeNull();
      expect(screen.queryByRole("button", { name: "Edit S00001" })).toBeNull();
      expect(screen.queryByRole("button", { name: "Add student" })).toBeNull();
      expect(screen.queryByLabelText("Generate random students")).toBeNull();
      expect(screen.queryByRole("form", { name: "Activity simulation" })).toBeNull();
      expect(screen.queryByRole("columnheader", { name: "Actions" })).toBeNull();
      unmount();
    }
    mockFetch((call) => (call.url.pathname === "/api/enrollments/" ? { body: [], headers: { "X-Total-Count": "0" } } : undefined));
    renderAs(<OperationalPage tab="enrollments" />, meAs("viewer"));
    await screen.findByRole("table", { name: "Enrollments" });
    expect(screen.queryByRole("button", { name: "Enroll" })).toBeNull();
  });

  it("does not offer sorting by a personal field without the pii grant", async () => {
    studentServer();
    renderAs(<OperationalPage tab="students" />, meAs("viewer"));
    await screen.findByText("S00001");
    expect(screen.queryByRole("button", { name: /Sort by Address/ })).toBeNull();
    expect(screen.queryByRole("button", { name: /Sort by Date of birth/ })).toBeNull();
    expect(screen.getByRole("button", { name: /Sort by GPA/ })).toBeTruthy();
  });

  it("lets a registrar without the pii grant edit only what it can see, with PATCH", async () => {
    const user = userEvent.setup();
    const calls = studentServer((call) => {
      if (call.method === "GET" && call.url.pathname === "/api/students/S00002") return { body: { ...student(2), address: "***", date_of_birth: "***" } };
      if (call.method === "PATCH") return { body: { ...student(2), address: "***", date_of_birth: "***" } };
      return undefined;
    });
    renderAs(<OperationalPage tab="students" />, meAs("registrar", "reg", false));
    await screen.findByText("S00002");
    await user.click(screen.getByRole("button", { name: "Edit S00002" }));
    const dialog = await screen.findByRole("dialog");
    expect(within(dialog).queryByLabelText(/^Address/)).toBeNull();
    expect(within(dialog).queryByLabelText(/^Date of birth/)).toBeNull();
    const gpa = within(dialog).getByLabelText(/^GPA/) as HTMLInputElement;
    await user.clear(gpa);
    await user.type(gpa, "3.1");
    await user.click(within(dialog).getByRole("button", { name: "Save changes" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(calls.some((c) => c.method === "PUT")).toBe(false);
    const patch = calls.find((c) => c.method === "PATCH")!;
    expect(patch.body).toMatchObject({ gpa: 3.1 });
    expect(patch.body).not.toHaveProperty("address");
    expect(patch.body).not.toHaveProperty("date_of_birth");
  });
});
