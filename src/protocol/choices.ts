// The protocol's fixed word lists, each defined once: fields.ts builds the frame schemas from them,
// and the CLI names them in --help, offers them in the shell completions and checks its options
// against them. Imports nothing, so the CLI's static command table can use them without loading a
// schema library.

/** A message's priority: when a busy recipient gets it (docs/protocol.md §5). */
export const PRIORITIES = ["now", "next", "low"] as const;
/** A member's presence status. */
export const STATUSES = ["idle", "working", "dnd"] as const;
/** The roles an invite can give (only `new` makes an owner); the first is the CLI's default. */
export const INVITE_ROLES = ["member", "admin"] as const;
/** Recipient-side capabilities a sender may hold (docs/protocol.md, Grants). */
export const CAPS = ["dm", "broadcast", "group", "topic"] as const;
/** The `event` pushes a broker sends (docs/protocol.md §4.4.5), which a hello may subscribe to. */
export const EVENT_NAMES = ["peer_joined", "peer_left", "peer_status", "member_joined", "member_revoked", "key_rotated", "topic_created"] as const;
