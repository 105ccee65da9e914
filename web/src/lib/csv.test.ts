import { afterEach, describe, expect, it, vi } from "vitest";
import { downloadText, toCsv } from "./csv";

describe("toCsv", () => {
  it("quotes fields with commas, quotes and line breaks and writes nulls as empty", () => {
    const csv = toCsv(["id", "name", "note", "gpa"], [
      ["S1", "Doe, Jane", 'said "hi"', 3.5],
      ["S2", "Line\nbreak", null, undefined],
    ]);
    expect(csv).toBe('id,name,note,gpa\r\nS1,"Doe, Jane","said ""hi""",3.5\r\nS2,"Line\nbreak",,\r\n');
  });

  it("writes nested values as JSON", () => {
    expect(toCsv(["v"], [[{ a: 1 }]])).toBe('v\r\n"{""a"":1}"\r\n');
  });
});

describe("downloadText", () => {
  afterEach(() => vi.restoreAllMocks());
  it("offers the text as a named file", async () => {
    const blobs: Blob[] = [];
    URL.createObjectURL = vi.fn((b: Blob) => {
      blobs.push(b);
      return "blob:x";
    }) as typeof URL.createObjectURL;
    URL.revokeObjectURL = vi.fn();
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      expect(this.download).toBe("q.csv");
      expect(this.getAttribute("href")).toBe("blob:x");
    });
    downloadText("q.csv", "a,b\r\n");
    expect(click).toHaveBeenCalledOnce();
    const text = await new Promise<string>((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.readAsText(blobs[0]);
    });
    expect(text).toBe("a,b\r\n");
    expect(blobs[0].type).toContain("text/csv");
  });
});
