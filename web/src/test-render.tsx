// Test support: renders a page as a signed-in user of some role (admin by default).
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { AuthProvider, type Me } from "./lib/auth";
import { meAs } from "./test-utils";

export function renderAs(ui: ReactElement, me: Me = meAs("admin")) {
  return render(<AuthProvider initial={me}>{ui}</AuthProvider>);
}
