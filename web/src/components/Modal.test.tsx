import { describe, expect, it, vi } from "vitest";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Modal } from "./Modal";

describe("Modal", () => {
  it("takes focus, keeps Tab inside, closes on Escape and gives focus back", async () => {
    const user = userEvent.setup();
    const onClose = vi.fn();
    const { rerender } = render(<button>outside</button>);
    screen.getByText("outside").focus();
    rerender(
      <>
        <button>outside</button>
        <Modal title="Edit" onClose={onClose}>
          <label htmlFor="m-name">Name</label>
          <input id="m-name" />
          <button>Save</button>
        </Modal>
      </>,
    );
    expect(document.activeElement).toBe(screen.getByLabelText("Name"));
    await user.tab();
    expect(document.activeElement).toBe(screen.getByText("Save"));
    await user.tab();
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Close" }));
    await user.tab({ shift: true });
    expect(document.activeElement).toBe(screen.getByText("Save"));
    await user.keyboard("{Escape}");
    expect(onClose).toHaveBeenCalledOnce();
    rerender(<button>outside</button>);
    expect(document.activeElement).toBe(screen.getByText("outside"));
  });
});
