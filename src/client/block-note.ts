// What a recipient is told about a block it set, since the blocked sender is told nothing
// (docs/protocol.md §5.9). One text for `claudemesh grants` and the dashboard's Grants page (which
// bundles this file, so it imports nothing).

/** Shown wherever a blocked entry is listed. */
export const BLOCKED_NOTE =
  'A blocked sender is still told "Sent": the block is not revealed to them. The broker drops what they send you; topic history still lists their posts.';
