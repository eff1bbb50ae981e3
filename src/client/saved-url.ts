// A broker URL saved in config.json that is no broker URL: the file is the user's, and earlier
// versions told people to edit it. Said the same way by the CLI, which checks the URL before it
// connects (cli/context.ts, savedBroker), and by the MCP server, whose attempts fail with it
// (mcp/link-state.ts): what is wrong is the saved URL, not where the broker is, so the words are
// not those of a broker that moved (move-hint.ts), though the fix is the same command.

/** What is wrong with the URL saved for mesh `slug`; `why`: brokerBase's words, which quote it. */
export const savedUrlProblem = (slug: string, why: string): string => `The broker URL saved for mesh "${slug}" cannot be used: ${why}`;

/** The fix: set-broker, which checks the URL it is given before saving it. `meshOpt`: the
 *  ` --mesh …` the command needs ("" with one mesh). */
export const savedUrlFix = (meshOpt: string): string => `claudemesh set-broker <the broker's http(s):// URL>${meshOpt}`;
