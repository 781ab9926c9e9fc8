import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";

import { withHealth } from "./health";

describe("withHealth", () => {
  it("changes the camera's status in the list and in its own entry, and nothing else", () => {
    const client = new QueryClient();
    client.setQueryData(["cameras", "list"], { results: [{ id: "a", status: "provisioning" }, { id: "b", status: "online" }] });
    client.setQueryData(["cameras", "one", "a"], { id: "a", status: "provisioning" });
    withHealth(client, "a", "online");
    withHealth(client, "b", "exploded");
    expect(client.getQueryData(["cameras", "list"])).toEqual({ results: [{ id: "a", status: "online" }, { id: "b", status: "online" }] });
    expect(client.getQueryData(["cameras", "one", "a"])).toEqual({ id: "a", status: "online" });
    withHealth(client, "c", "offline"); // not cached: nothing is made up
    expect(client.getQueryData(["cameras", "one", "c"])).toBeUndefined();
  });
});
