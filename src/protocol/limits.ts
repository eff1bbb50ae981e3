// Every protocol limit in one place, with its unit and the reason for its value.
// The broker enforces these; clients use them to refuse bad input before sending it.

/** Largest WebSocket text frame the broker parses, in bytes. Checked before JSON.parse.
 *  64 KiB holds a long message plus envelope; OWASP's WebSocket guidance names the same size. */
export const MAX_FRAME_BYTES = 64 * 1024;
/** Largest HTTP request body the broker reads (§6.1). The largest real body, an invite claim or a
 *  dashboard topic post, is under 100 KiB: 1 MiB leaves room and still bounds what one request
 *  makes the broker hold. */
export const MAX_HTTP_BODY_BYTES = 1024 * 1024;

/** Deepest JSON nesting accepted, checked by a scan before JSON.parse so that no recursive code
 *  ever sees a hostile 10,000-level document. Our deepest legitimate frame nests 3 levels. */
export const MAX_JSON_DEPTH = 32;

/** Allowed difference between a hello's timestamp and the broker clock (DESIGN.md §3). */
export const HELLO_SKEW_MS = 60_000;

/** A socket that has not completed its hello within this time is closed (pre-auth DoS guard). */
export const HELLO_TIMEOUT_MS = 10_000;

/** A session attestation may not outlive this (DESIGN.md §3). */
export const MAX_ATTESTATION_TTL_MS = 24 * 60 * 60 * 1000;

/** String bounds, in UTF-16 code units, applied by the frame schemas. */
export const MAX_NAME_LEN = 64;
export const MAX_SUMMARY_LEN = 512;
export const MAX_CWD_LEN = 1024;
export const MAX_HOSTNAME_LEN = 255;
export const MAX_REASON_LEN = 256;
export const MAX_DESCRIPTION_LEN = 512;
/** Longest name a peer may be shown by: a session whose hello names none is called `<member
 *  name>/<last cwd segment>` by the broker (§4.3.2), the segment up to the whole `cwd`. list_peers
 *  rows and a message's `from.name` may be this long; the names people choose are MAX_NAME_LEN. */
export const MAX_SHOWN_NAME_LEN = MAX_NAME_LEN + 1 + MAX_CWD_LEN;
/** Longest mesh slug, topic name and group name (their patterns in fields.ts bound them): a slug
 *  is typed in every `--mesh` and target prefix, so it stays shorter than a name. */
export const MAX_SLUG_LEN = 48;
export const MAX_TOPIC_NAME_LEN = 64;
export const MAX_GROUP_NAME_LEN = 64;
/** Longest `publicUrl` a broker states in `hello_ack` (§2.6): a longer one is nobody's real URL,
 *  and the broker leaves it out rather than send a frame an older client's bound would refuse. */
export const MAX_PUBLIC_URL_LEN = 2048;
/** Base64 of the largest ciphertext that fits in a frame with its envelope. */
export const MAX_CIPHERTEXT_B64_LEN = 60 * 1024;
/** Opaque key material an inviter leaves with an invite (sealed; the broker cannot open it). */
export const MAX_KEYS_BLOB_B64_LEN = 16 * 1024;

/** Most message ids in one `ack` frame; bounds the work one frame can ask for. */
export const MAX_ACK_BATCH = 512;
/** Most unacked pushes the broker has out to one connection (protocol.md §5.5): enough to keep a
 *  fast client busy for one round trip, small enough that a stalled client does not pin a large
 *  part of its queue. */
export const PUSH_WINDOW = 1024;
/** Most messages returned by one `fetch`, history or audit page. */
export const MAX_PAGE = 500;
/** Most ciphertext one `topic_history` page carries (§4.3.15; at least one post): 500 posts of
 *  60 KiB were one answer of ~30 MB, which a connection that asked and read nothing made the broker
 *  hold. Larger than a frame, unlike a `fetch` page: a CLI from before the cap asks once for its
 *  `--limit` posts and shows that page, and 50 posts of a few KB each still fit. */
export const TOPIC_PAGE_BYTES = 1024 * 1024;
/** Most invites one `invite_list` request with `open` looks at (§4.3.23): open invites lie among
 *  closed ones, which are never deleted (an admin's change allowance closes ~200,000 a day), and
 *  finding a page's worth could read all of them (1,000,000 rows: 142 ms on the thread that serves
 *  every connection; 5,000: under 1 ms). Such a page can hold fewer than `limit` invites, even
 *  none; its `next` says where to go on. */
export const INVITE_PAGE_SCAN = 5_000;
/** Most uses one invite may allow. */
export const MAX_INVITE_USES = 10_000;
/** Most groups one member may be in (`group_join`, §4.3.16). Every `list_peers` row of the member
 *  and of each of its sessions (up to MAX_SESSIONS_PER_MEMBER) lists them all, to every member
 *  who asks: unbounded, one member's join loop (10,000 names in under a second) made that answer
 *  larger than a client reads (MAX_SERVER_FRAME_BYTES) for the whole mesh. Routing labels such as
 *  @frontend or @oncall come in a handful; 32 leaves room and keeps a row under ~2 KiB of names. */
export const MAX_GROUPS_PER_MEMBER = 32;
/** Most topics one member may create in a mesh (`topic_create`, §4.3.11). Topics are never
 *  deleted, and `topic_list` lists every one with its description to every member who asks: one
 *  member's creations at the change allowance made that answer larger than a client reads
 *  (MAX_SERVER_FRAME_BYTES) in about four hours, for good. 256 is far above what a person names,
 *  and keeps one member's share of the answer under ~180 KB. */
export const MAX_TOPICS_PER_MEMBER = 256;
/** Most open invites one member may have issued in a mesh (`invite_create`, §4.3.22): open is not
 *  revoked, not used up and not expired. Each keeps up to MAX_KEYS_BLOB_B64_LEN of sealed keys
 *  until then, for up to 365 days, and an admin may create them at the change allowance: ~7 GB a
 *  day per admin without a bound, 4 MiB with it. `claudemesh invite` and the dashboard make
 *  one-use invites valid for 7 days by default, so this is 256 people invited one by one within a
 *  week and not yet joined; more come in through a many-use invite (up to MAX_INVITE_USES). */
export const MAX_OPEN_INVITES_PER_MEMBER = 256;
/** Most capabilities listed in one grant. */
export const MAX_CAPS = 8;

/** Most event names one hello may subscribe to (`events`, §4.3.1): several times the events
 *  there are, so that a newer client's list still fits an older broker's bound. */
export const MAX_SUBSCRIBED_EVENTS = 32;
/** Longest event name a hello may list: far above the longest there is (14). */
export const MAX_EVENT_NAME_LEN = 32;

/** Longest text `peer_lookup` searches for, in UTF-16 code units: a typed target, which may hold a
 *  name (64 units at most, more with invisible characters a name comparison removes) or a key. */
export const MAX_LOOKUP_TEXT_LEN = 256;
/** Most peers one `peer_lookup` answer lists: one member's sessions that share a name (at most
 *  MAX_SESSIONS_PER_MEMBER) and more; an answer that would hold more says it is not complete, and
 *  the client reads `list_peers` instead. */
export const MAX_LOOKUP_PEERS = 100;
/** Most members one `member_lookup` answer lists: a member, the member who invited it, and so on
 *  up to the owner (three rows in any mesh an honest broker keeps: only the owner invites admins,
 *  and admins invite members). A chain cut here cannot be vouched for, never the other way. */
export const MAX_LOOKUP_MEMBERS = 8;

/** Longest a dashboard login link may be valid after it is signed (§3.7): short, because the
 *  link travels through terminals and browsers. */
export const DASHBOARD_LINK_TTL_MS = 5 * 60 * 1000;

/** Requests that write an audit entry (grant_set, topic_create, invite_create, invite_revoke,
 *  member_revoke, key_rotate), per member: a token bucket of CHANGE_BURST refilled at this rate. */
export const CHANGE_RATE_PER_SEC = 5;
export const CHANGE_BURST = 100;

/** Status and summary changes (set_status, set_summary, POST /hook/set-status), per member: a token
 *  bucket of STATUS_BURST refilled at this rate. Each change is a database write and a peer_status
 *  event to every connection of the mesh. Claude Code's hooks change a session's status twice a
 *  turn (UserPromptSubmit, Stop) and mesh_status sends two requests: a member's sessions together
 *  stay far below this; an unbounded loop of them (270 a second, measured) does not. */
export const STATUS_RATE_PER_SEC = 10;
export const STATUS_BURST = 60;

/** How long the broker's `audit_verify` may rely on a prefix of the chain it verified before:
 *  within it only entries appended since are hashed; after it the whole chain is again. */
export const AUDIT_RECHECK_MS = 60_000;

/** Sessions one member may have that have not ended (within the routing horizon): a new one past
 *  it ends the member's longest-unseen offline sessions, or is refused when all are connected. */
export const MAX_SESSIONS_PER_MEMBER = 64;

/** Sessions one member may start (a `session_hello` of a key that has no session, or one that
 *  ended): a token bucket of SESSION_START_BURST refilled at SESSION_START_RATE_PER_SEC. An ended
 *  session keeps its row for the message TTL (a reader may still block its key), so without it
 *  one member's loop of hellos with new keys wrote rows as fast as the broker took hellos (~210 a
 *  second, 50 MB in 10 s). Twice the session limit at once, then one every 10 s: far above how
 *  often a person starts Claude Code sessions. A reconnect of a live session is not a start. */
export const SESSION_START_BURST = 2 * MAX_SESSIONS_PER_MEMBER;
export const SESSION_START_RATE_PER_SEC = 0.1;

/** Current wire protocol version, sent in hello and echoed in hello_ack. */
export const PROTOCOL_VERSION = 1;

/** Highest mesh key epoch the broker records (key_rotate) and clients accept in a `keys` message:
 *  far above any real number of rotations, and below what an envelope can carry. */
export const MAX_KEY_EPOCH = 2 ** 31;
