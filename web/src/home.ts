// `/`: look up a miner by address; the pool's figures, live from the `stats` channel.
import { api, live } from "./api";
import { byId, liveState, setText } from "./dom";
import { hashrate, num } from "./format";
import { setupLanguage, t } from "./i18n";

interface Stats { hashrate: number; miners: number; workers: number; blocks_found?: number }

const VALID = /^[A-Za-z0-9]{20,100}$/;  // schemas.identity.valid_address; the server checks it again
let stats: Stats | null = null;

function render(): void {
  if (!stats) return;
  setText("pool-hashrate", hashrate(stats.hashrate));
  setText("pool-miners", num(stats.miners));
  setText("pool-workers", num(stats.workers));
  setText("pool-blocks", num(stats.blocks_found));
}

byId<HTMLFormElement>("lookup").addEventListener("submit", (event) => {
  event.preventDefault();
  const address = byId<HTMLInputElement>("address").value.trim();
  const error = byId("lookup-error");
  if (!VALID.test(address)) { error.hidden = false; error.textContent = t("home.invalid"); return; }
  location.assign(`/miner/${encodeURIComponent(address)}`);
});

setupLanguage(render);
api<Stats>("/stats").then((s) => { stats = s; render(); }).catch(() => undefined);
live(["stats"], (push) => {
  if (push.type === "stats") { stats = { ...(stats ?? push.data), ...push.data }; render(); }
}, liveState);
