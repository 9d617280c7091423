// `/operator`: the admin's view. Anonymous visitors get the sign-in form and nothing else; the API refuses
// them anyway (401), and a non-admin key is refused (403). Live from `stats`, `blocks` and `hardware`; a block
// push (one per status change) updates the block's row in place.
import { api, ApiError, apiKey, live, setApiKey } from "./api";
import { byId, code, liveState, setText, showError, table } from "./dom";
import { bytes, hashrate, num, time } from "./format";
import { setupLanguage, t } from "./i18n";
import { term } from "./terms";

interface Stats { hashrate: number; miners: number; workers: number; blocks_found: number;
  hashrate_10m: { by_algorithm: { algorithm: string; hashrate: number }[] } }
interface Block { height: number; hash: string; currency: string; reward_str: string; found_by: string; found_at: string; status: string; effort?: number; confirmations: number }
interface Payout { id: string; coin: string; state: string; origin: string; tx_hash: string; total_str: string; recipients: unknown[]; created_at: string }
interface Alert { id: string; kind: string; status: string; severity: string; miner: string; worker: string; opened_at: string }
interface Fleet { [cls: string]: any }
interface Metrics { mining: { shares_per_second: number; rejection_rate: number; total_hashrate: number; active_workers: number };
  stratum: { connections: number; jobs_sent: number; shares_received: number } }
interface Status { broker?: { memory_bytes: number; memory_limit_bytes: number; recycles: number; lost_messages: number } | null;
  agents: { name: string; ok: boolean; state: string }[] }
interface Threats { blocked: { ip: string; reason: string; expires_at: string }[] }
interface Miner { address: string; hashrate: number; workers: number; workers_24h: number; shares: { accepted: number }; last_share: string }

const data: { stats?: Stats; blocks: Block[]; payouts: Payout[]; alerts: Alert[]; fleet?: Fleet; metrics?: Metrics;
  status?: Status; threats?: Threats; miners: Miner[]; prom: Map<string, { labels: Record<string, string>; value: number }[]> } =
  { blocks: [], payouts: [], alerts: [], miners: [], prom: new Map() };

/** A block push: its row updated in place (a status change), or a new row on top. */
function blockPushed(block: Block): void {
  const i = data.blocks.findIndex((b) => b.hash === block.hash);
  if (i >= 0) data.blocks[i] = { ...data.blocks[i], status: block.status };
  else data.blocks = [{ ...block, confirmations: block.confirmations ?? 0 }, ...data.blocks].slice(0, 20);
}

function minerLink(address: string): HTMLElement {
  const a = document.createElement("a");
  a.href = `/miner/${encodeURIComponent(address)}`;
  a.append(code(address, 14));
  return a;
}

/** The Prometheus text of /metrics: name -> samples (only what this page shows). */
function parseMetrics(text: string): Map<string, { labels: Record<string, string>; value: number }[]> {
  const out = new Map<string, { labels: Record<string, string>; value: number }[]>();
  for (const line of text.split("\n")) {
    const m = /^(poolstream_(?:dead_letters_total|consumer_lag|shares_rejected_total))(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)) labels[pair[1]] = pair[2];
    out.set(m[1], [...(out.get(m[1]) ?? []), { labels, value: Number(m[3]) }]);
  }
  return out;
}

function render(): void {
  const s = data.stats;
  setText("pool-hashrate", hashrate(s?.hashrate));
  setText("pool-miners", num(s?.miners));
  setText("pool-workers", num(s?.workers));
  setText("pool-blocks", num(s?.blocks_found));
  table("algorithms", ["col.algorithm", "col.hashrate"], (s?.hashrate_10m.by_algorithm ?? []).map((a) => [a.algorithm, hashrate(a.hashrate)]));
  table("miners", ["col.address", "col.hashrate", "col.workers", "col.accepted", "col.last"],
    data.miners.map((m) => [minerLink(m.address), hashrate(m.hashrate), `${num(m.workers)} / ${num(m.workers_24h)}`,
      num(m.shares.accepted), time(m.last_share)]));
  table("blocks", ["col.height", "col.time", "col.miner", "col.reward", "col.status", "col.effort"],
    data.blocks.map((b) => [num(b.height), time(b.found_at), minerLink(b.found_by), `${b.reward_str} ${b.currency}`,
      `${term(b.status)} (${num(b.confirmations)})`, b.effort == null ? "–" : `${num(b.effort * 100, 1)} %`]));
  table("payouts", ["col.time", "col.coin", "col.amount", "col.count", "col.status", "col.tx"],
    data.payouts.map((p) => [time(p.created_at), p.coin, p.total_str, num(p.recipients.length),
      `${term(p.state)} (${term(p.origin)})`, code(p.tx_hash || "–", 16)]));
  table("alerts", ["col.time", "col.kind", "col.severity", "col.worker"],
    data.alerts.filter((a) => a.status !== "cleared")
      .map((a) => [time(a.opened_at), term(a.kind), term(a.severity), `${a.miner.slice(0, 10)}….${a.worker}`]));
  const fleet = data.fleet ?? {};
  table("fleet", ["col.class", "col.count", "col.hashrate", "col.temp", "col.power", "col.eff"],
    ["cpu_miners", "gpu_miners", "asic_miners"].filter((k) => fleet[k]).map((k) => {
      const c = fleet[k], e = (c.efficiency ?? [])[0];
      return [term(k.replace("_miners", "")), num(c.count), hashrate(c.total_hashrate),
        c.avg_temperature == null ? "–" : `${num(c.avg_temperature, 1)} °C`,
        c.power_consumption == null ? "–" : `${num(c.power_consumption, 0)} W`, e ? `${num(e.efficiency, 1)} ${e.unit}` : "–"];
    }));
  const m = data.metrics;
  setText("shares-per-s", num(m?.mining.shares_per_second, 1));
  setText("reject-rate", m ? `${num(m.mining.rejection_rate * 100, 2)} %` : "–");
  setText("stratum-connections", num(m?.stratum.connections));
  setText("stratum-jobs", num(m?.stratum.jobs_sent));
  const broker = data.status?.broker;
  setText("broker-memory", bytes(broker?.memory_bytes));
  setText("broker-limit", bytes(broker?.memory_limit_bytes));
  table("agents", ["col.agent", "col.state"], (data.status?.agents ?? []).map((a) => [a.name, term(a.state)]));
  table("bans", ["col.ip", "col.reason", "col.until"],
    (data.threats?.blocked ?? []).map((b) => [b.ip, b.reason, time(b.expires_at)]));
  table("lag", ["col.topic", "col.lag"], (data.prom.get("poolstream_consumer_lag") ?? []).map((x) => [x.labels.topic ?? "", num(x.value)]));
  table("dead", ["col.topic", "col.reason", "col.count"],
    (data.prom.get("poolstream_dead_letters_total") ?? []).filter((x) => x.value > 0)
      .map((x) => [x.labels.topic ?? "", term(x.labels.reason ?? ""), num(x.value)]));
  table("rejects", ["col.reason", "col.count"],
    (data.prom.get("poolstream_shares_rejected_total") ?? []).filter((x) => x.value > 0).map((x) => [term(x.labels.reason ?? ""), num(x.value)]));
}

async function load(): Promise<void> {
  const auth = { auth: true };
  // The admin check first: every section below needs it, and its refusal is what the visitor sees.
  await api("/admin/config", auth);
  const got = await Promise.allSettled([
    api<Stats>("/stats"), api<Block[]>("/blocks?limit=20"), api<Payout[]>("/payouts?limit=20", auth),
    api<Alert[]>("/alerts?status=open&limit=50", auth), api<Fleet>("/monitoring/hardware"), api<Metrics>("/monitoring/metrics", auth),
    api<Status>("/status", auth), api<Threats>("/security/threats", auth),
    fetch("/metrics").then((r) => r.text()), api<Miner[]>("/miners?limit=50", auth),
  ]);
  const value = <T>(i: number): T | undefined => (got[i].status === "fulfilled" ? (got[i] as PromiseFulfilledResult<T>).value : undefined);
  data.stats = value<Stats>(0) ?? data.stats;
  data.blocks = value<Block[]>(1) ?? data.blocks;
  data.payouts = value<Payout[]>(2) ?? data.payouts;
  data.alerts = value<Alert[]>(3) ?? data.alerts;
  data.fleet = value<Fleet>(4) ?? data.fleet;
  data.metrics = value<Metrics>(5) ?? data.metrics;
  data.status = value<Status>(6) ?? data.status;
  data.threats = value<Threats>(7) ?? data.threats;
  const prom = value<string>(8);
  if (prom) data.prom = parseMetrics(prom);
  data.miners = value<Miner[]>(9) ?? data.miners;
  render();
}

function show(signedIn: boolean, message = ""): void {
  byId("signin").hidden = signedIn;
  byId("dashboard").hidden = !signedIn;
  byId("signout").hidden = !signedIn;
  const refused = byId("refused");
  refused.hidden = message === "";
  refused.textContent = message;
}

async function start(): Promise<void> {
  if (apiKey() === null) { show(false, t("auth.required")); return; }
  try {
    await load();
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      setApiKey(null);
      show(false, e.status === 403 ? t("auth.refused") : `${t("auth.failed")}: ${e.message}`);
      return;
    }
    showError("error", e);
  }
  show(true);
  live(["stats", "blocks", "hardware"], (push) => {
    if (push.type === "stats") data.stats = { ...(data.stats as Stats), ...push.data };
    else if (push.type === "block") blockPushed(push.data as Block);
    else if (push.type === "alert") data.alerts = [push.data, ...data.alerts.filter((a) => a.id !== push.data.id)].slice(0, 50);
    render();
  }, liveState, true);
  setInterval(() => { void load().catch(() => undefined); }, 15000);  // the figures the WebSocket does not push
}

byId<HTMLFormElement>("signin").addEventListener("submit", async (e) => {
  e.preventDefault();
  const username = byId<HTMLInputElement>("username").value, password = byId<HTMLInputElement>("password").value;
  try {
    const key = await api<{ api_key: string }>("/auth/api-key", { method: "POST", body: { username, password } });
    setApiKey(key.api_key);
    await start();
  } catch (err) {
    show(false, `${t("auth.failed")}: ${err instanceof Error ? err.message : String(err)}`);
  }
});
byId("signout").addEventListener("click", () => { setApiKey(null); location.reload(); });

setupLanguage(() => { render(); if (apiKey() === null) show(false, t("auth.required")); });
void start();
