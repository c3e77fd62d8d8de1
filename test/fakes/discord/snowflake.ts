// Discord ids are 64-bit snowflakes written as 17–19 digit strings; @discordjs/rest only recognises a route's
// major parameter (its rate-limit bucket) when the id has that shape, so the fake mints real-looking ones.
const DISCORD_EPOCH = 1_420_070_400_000n;
let increment = 0n;

export function snowflake(now = Date.now()): string {
  increment = (increment + 1n) & 0xfffn;
  return (((BigInt(now) - DISCORD_EPOCH) << 22n) | (1n << 17n) | increment).toString();
}
