// Whole-number flags (--limit, --after, --max-uses, --port) as a person writes them: decimal digits
// only. Number() would also take "", " 7", "0x10", "1e3" and "0b11", and show a range the user did
// not type.

/** `text` as a whole number when it is 1–15 decimal digits, else null. */
export const wholeNumber = (text: string): number | null => (/^\d{1,15}$/.test(text) ? Number(text) : null);
