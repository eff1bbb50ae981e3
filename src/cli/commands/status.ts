// claudemesh status <idle|working|dnd> · claudemesh summary <text>
import { command, type CommonArgs } from "../context.ts";
import { restText, UsageError } from "../output.ts";

export async function status(args: CommonArgs & { status: string }): Promise<void> {
  await command(args, async (ctx) => {
    if (!["idle", "working", "dnd"].includes(args.status)) throw new UsageError("Status must be idle, working or dnd.");
    const client = await ctx.connect(ctx.mesh());
    const r = await client.request("set_status", { status: args.status as "idle" | "working" | "dnd" });
    ctx.out.result(r, () => `Status: ${r.status}.${r.status === "dnd" ? " Only priority-now messages reach you until you change it." : ""}`);
  });
}

export async function summary(args: CommonArgs & { text: string; _?: string[] }): Promise<void> {
  await command(args, async (ctx) => {
    const client = await ctx.connect(ctx.mesh());
    const r = await client.request("set_summary", { summary: restText(args, 0, args.text) });
    ctx.out.result(r, () => `Summary: ${r.summary}`);
  });
}
