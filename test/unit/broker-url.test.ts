// brokerBase (src/client/broker-url.ts): the one check of a broker URL. A scheme-less `host:port` means
// http:// only for localhost and IP addresses (said through `assumed`); anything else that is not
// http, https, ws or wss with a host is refused with words a user can act on.
import { describe, expect, test } from "bun:test";
import { brokerBase, BrokerUrlError, isLoopbackHost } from "../../src/client/broker-url.ts";

const refused = (input: string) => {
  try {
    return { ok: brokerBase(input) };
  } catch (err) {
    return { error: err instanceof BrokerUrlError ? err.message : `not a BrokerUrlError: ${err}` };
  }
};

describe("brokerBase", () => {
  test.each([
    ["https://mesh.example.com", "https://mesh.example.com", false],
    ["https://mesh.example.com/", "https://mesh.example.com", false],
    ["wss://mesh.example.com/ws", "https://mesh.example.com", false],
    ["ws://127.0.0.1:7900/ws/", "http://127.0.0.1:7900", false],
    ["http://10.0.0.5:7900/mesh", "http://10.0.0.5:7900/mesh", false],
    ["  http://localhost:7911 ", "http://localhost:7911", false],
    ["localhost:7911", "http://localhost:7911", true],
    ["127.0.0.1:7911", "http://127.0.0.1:7911", true],
    ["[::1]:7911", "http://[::1]:7911", true],
    ["192.168.1.20:7900", "http://192.168.1.20:7900", true],
    ["box.localhost:7900", "http://box.localhost:7900", true],
    // A proxy's prefix that merely starts like a route is a base.
    ["https://gw.example.com/v1/claudemesh", "https://gw.example.com/v1/claudemesh", false],
    ["https://gw.example.com/v1", "https://gw.example.com/v1", false],
  ])("%s → %s", (input, base, assumed) => {
    expect(brokerBase(input)).toEqual({ base, assumed });
  });

  test.each([
    ["", "The broker URL is empty"],
    ["mesh.example.com", 'did you mean https://mesh.example.com?'],
    ["mesh.example.com:7900", 'did you mean https://mesh.example.com:7900?'],
    ["ftp://127.0.0.1:7900", "is not a broker URL: one starts with http://"],
    ["http://", "is not a URL"],
    ["http://127.0.0.1:7900/?x=1", "?query or #fragment"],
    ["https://user:pw@mesh.example.com", "has a user"],
    ["not a url", "is not a URL"],
    ["http://127.0.0.1:7900/health/ready", "is the address of the broker's /health/ready route"],
    ["https://gw.example.com/mesh/v1/meshes", "is the address of the broker's /v1/meshes route"],
    ["https://gw.example.com/v1/invites/inv_1/claim", "is the address of the broker's /v1/invites/inv_1/claim route"],
    ["https://gw.example.com/v1/dashboard/login", "is the address of the broker's /v1/dashboard/login route"],
  ])("%p is refused: %s", (input, words) => {
    expect(refused(input)).toEqual({ error: expect.stringContaining(words) });
  });
});

// A refusal never repeats a password or a query's value: it reaches logs and, through the MCP
// server, the model.
test.each([
  ["https://deploy:hunter2@mesh.example.com", '"https://***@mesh.example.com" has a user'],
  ["deploy:hunter2@10.0.0.5:7900", '"***@10.0.0.5:7900" has a user'],
  ["ftp://deploy:hunter2@mesh.example.com", '"ftp://***@mesh.example.com" is not a broker URL'],
  ["https://mesh.example.com/?token=hunter2#hunter2", '"https://mesh.example.com/?***" has a user'],
])("%p is refused without its secret", (input, words) => {
  const said = refused(input).error as string;
  expect({ said: said.includes(words), secret: said.includes("hunter2") }).toEqual({ said: true, secret: false });
});

// isLoopbackHost: a broker URL's host that only this machine reaches (an invite naming it says so).
test.each([
  ["127.0.0.1", true],
  ["127.1.2.3", true],
  ["localhost", true],
  ["LOCALHOST", true],
  ["app.localhost", true],
  ["[::1]", true],
  ["::ffff:127.0.0.1", true],
  ["0.0.0.0", false],
  ["192.168.1.5", false],
  ["[2001:db8::1]", false],
  ["mesh.example.com", false],
  ["localhost.example.com", false],
])("isLoopbackHost(%p) is %p", (host, loopback) => {
  expect(isLoopbackHost(host)).toBe(loopback);
});
