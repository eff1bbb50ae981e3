// Bodies of the HTTP routes that change mesh state. Validated by the broker (Elysia uses these
// TypeBox schemas directly and publishes them in the OpenAPI document) and built by the client.
import { Type, type Static } from "@sinclair/typebox";
import * as F from "./fields.ts";
import { ClientFrames } from "./frames.ts";

/** POST /v1/meshes — signed by the new owner's member key (X-Claudemesh-* headers). */
export const CreateMeshBody = Type.Object(
  {
    meshId: F.Id,
    slug: F.Slug,
    name: F.MeshName,
    ownerPubkey: F.Hex32,
    ownerDisplayName: F.DisplayName,
  },
  { additionalProperties: false },
);

/** POST /v1/invites/{inviteId}/claim — the claim canonical signed by the invite key and by the
 *  joiner's new member key. */
export const ClaimInviteBody = Type.Object(
  {
    meshId: F.Id,
    pubkey: F.Hex32,
    displayName: F.DisplayName,
    timestamp: F.TimestampMs,
    inviteSignature: F.Hex64,
    signature: F.Hex64,
  },
  { additionalProperties: false },
);

/** POST /hook/set-status — Bearer hook token from hello_ack, or a signed request (then meshId is required). */
export const HookStatusBody = Type.Object(
  {
    status: F.Status,
    summary: Type.Optional(F.Summary),
    meshId: Type.Optional(F.Id),
  },
  { additionalProperties: false },
);

export type CreateMeshBodyT = Static<typeof CreateMeshBody>;
export type ClaimInviteBodyT = Static<typeof ClaimInviteBody>;
export type HookStatusBodyT = Static<typeof HookStatusBody>;

/** POST /v1/dashboard/login — a login link made by `claudemesh dashboard`: the §3.7 canonical
 *  signed by the member key. Exchanged once for a session cookie. */
export const DashboardLoginBody = Type.Object(
  {
    meshId: F.Id,
    memberId: F.Id,
    nonce: F.Id,
    expiresAt: F.TimestampMs,
    signature: F.Hex64,
  },
  { additionalProperties: false },
);

/** POST /v1/dashboard/invites — the fields of the `invite_create` frame, signed in the page with
 *  the member key (the broker checks them exactly as for the frame). */
export const DashboardInviteBody = Type.Omit(ClientFrames.invite_create, ["type", "id"], { additionalProperties: false });

/** POST /v1/dashboard/topics/{topic}/messages — a post sealed in the page (§11.3) for `#topic`,
 *  sent as the signed-in member exactly like a `send` frame to that target. */
export const DashboardPostBody = Type.Pick(ClientFrames.send, ["clientMessageId", "nonce", "ciphertext"], { additionalProperties: false });

/** POST /v1/dashboard/operator/login — the operator token, exchanged for an operator cookie. */
export const OperatorLoginBody = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });

export type DashboardLoginBodyT = Static<typeof DashboardLoginBody>;
export type DashboardPostBodyT = Static<typeof DashboardPostBody>;
export type DashboardInviteBodyT = Static<typeof DashboardInviteBody>;
