// Vitest setup: unmount React trees between tests so each test starts from an empty document.
import { afterEach } from "vitest";
import { cleanup } from "@testing-library/react";

afterEach(() => cleanup());
