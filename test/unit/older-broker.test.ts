// A broker's refusal of a field this client sent is said as a broker older than the client
// (broker-trouble.ts olderBroker), over both transports; every other refusal is left as it is.
import { expect, test } from "bun:test";
import { olderBroker, NotSentError } from "../../src/client/broker-trouble.ts";
import { MeshError } from "../../src/protocol/errors.ts";

const BASE = "https://broker.example";
const said = (err: MeshError) => ({ code: err.code, message: err.message, notSent: err instanceof NotSentError });

test.each([
  ["WebSocket", new MeshError("invalid_frame", "Invalid invite_create frame at /keySignature: Unexpected property."), undefined, 'the field "keySignature" of invite_create'],
  ["HTTP", new MeshError("invalid_argument", "Invalid request: /claim/extra: Unexpected property"), "POST /v1/invites/x/claim", 'the field "claim.extra" of POST /v1/invites/x/claim'],
])("%s: an unknown field is an older broker (unsupported_version, nothing was done)", (_, err, request, names) => {
  expect(said(olderBroker(BASE, err, request))).toEqual({ code: "unsupported_version", message: expect.stringContaining(`The broker at ${BASE} runs an older claudemesh than this one: it does not know ${names}, which this version sends, so nothing was done.`), notSent: true });
});

test.each([
  new MeshError("invalid_frame", "Invalid send frame at /priority: Expected union value."),
  new MeshError("invalid_argument", "Invalid request: /name: Expected string length less or equal to 64"),
  new MeshError("conflict", "Invalid x frame at /y: Unexpected property."),
].map((e) => [`${e.code}: ${e.message}`, e] as const))("any other refusal is left as the broker said it: %s", (_, err) => {
  expect(olderBroker(BASE, err, "POST /v1/meshes")).toBe(err);
});
