// `/miner/{address}`: the miner's figures, chart, workers (with their temperature), rejects, balances,
// payments and the blocks it shared in; live from the `miner:ADDRESS` and `blocks` channels. The account box
// (account.ts) reads and sets the payout threshold and downloads the tax report.
import { setupAccount } from "./account";
import { api, ApiError, live } from "./api";
import { hashrateChart } from "./chart";
import { byId, code, liveState, setText, showError, table } from "./dom";
import { hashrate, num, status, time } from "./format";
import { setupLanguage, t } from "./i18n";
import { term } from "./terms";

const address = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] ?? "");
const enc = encodeURIComponent(address);

interface Miner {
  hashrate: number; hashrate_24h: number; workers: number; shares: { accepted: number; rejected: number; stale: number };
  last_share: string; rejects_24h: { reason: string; shares: number }[]; currency: string;
  balance_str: string; pending_str: string; paid_str: string;
}
interface Worker { name: string; hashrate: number; shares_accepted: number; shares_rejected: number; last_share: string; status: string;
  hardware: string; temperature?: number | null; temperature_max?: number | null }
interface Balance { coin: string; pending_str: string; mature_str: string; paid_str: string }
interface Payment { id: string; amount: number; tx_hash: string; timestamp: string; status: string }
interface Block { height: number; hash: string; currency: string; reward_str: string; found_by: string; found_at: string; status: string;
  effort?: number | null; credited: boolean; credit_str: string; share: number | null }
interface Series { points: { t: number; hashrate: number }[] }

let miner: Miner | null = null;
let workers: Worker[] = [], balances: Balance[] = [], payments: Payment[] = [], blocks: Block[] = [];
let range = "1h";
const account = setupAccount(address);
const chart = hashrateChart(byId("chart"));

function render(): void {
  const m = miner;
  setText("hr-10m", hashrate(m?.hashrate));
  setText("hr-24h", hashrate(m?.hashrate_24h));
  setText("workers-online", num(m?.workers));
  setText("shares-accepted", num(m?.shares.accepted));
  setText("shares-rejected", num(m ? m.shares.rejected + m.shares.stale : null));
  const unit = m?.currency ? ` ${m.currency}` : "";
  setText("balance", m ? m.balance_str + unit : "–");
  setText("pending", m ? m.pending_str + unit : "–");
  setText("paid", m ? m.paid_str + unit : "–");
  setText("last-share", time(m?.last_share));
  table("rejects", ["col.reason", "col.shares"], (m?.rejects_24h ?? []).map((r) => [term(r.reason), num(r.shares)]));
  table("workers", ["col.name", "col.status", "col.hashrate", "col.accepted", "col.rejected", "col.last", "col.hardware",
    "col.temperature"],
    workers.map((w) => [w.name, badge(w.status), hashrate(w.hashrate), num(w.shares_accepted), num(w.shares_rejected),
      time(w.last_share), term(w.hardware), temperature(w)]));
  table("balances", ["col.coin", "col.pending", "col.mature", "col.paid"],
    balances.map((b) => [b.coin, b.pending_str, b.mature_str, b.paid_str]));
  table("payments", ["col.time", "col.amount", "col.tx", "col.status"],
    payments.map((p) => [time(p.timestamp), num(p.amount, 8), code(p.tx_hash || "–", 20), term(p.status)]));
  table("blocks", ["col.height", "col.time", "col.miner", "col.reward", "col.credit", "col.share", "col.status", "col.effort"],
    blocks.map((b) => [num(b.height), time(b.found_at), b.found_by === address ? t("miner.you") : code(b.found_by, 14),
      `${b.reward_str} ${b.currency}`, b.credited ? `${b.credit_str} ${b.currency}` : "–",
      b.share == null ? "–" : `${num(b.share * 100, 2)} %`, term(b.status),
      b.effort == null ? "–" : `${num(b.effort * 100, 1)} %`]));
  account.render();
}

/** The mean of the latest reading of each device, its hottest device in the tooltip; "–" where none reported. */
function temperature(w: Worker): HTMLElement | string {
  if (w.temperature == null) return "–";
  const el = document.createElement("span");
  el.textContent = `${num(w.temperature, 1)} °C`;
  if (w.temperature_max != null) el.title = `${t("col.tempMax")}: ${num(w.temperature_max, 1)} °C`;
  return el;
}

function badge(s: string): HTMLElement {
  const el = document.createElement("span");
  el.className = `badge ${s}`; el.textContent = status(s);
  return el;
}

async function loadMiner(): Promise<void> {
  try {
    miner = await api<Miner>(`/miners/${enc}`);
    byId("not-found").hidden = true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) byId("not-found").hidden = false;
    else if (e instanceof ApiError && e.status === 400) { byId("not-found").hidden = false; setText("not-found", t("miner.badAddress")); }
    else showError("error", e);
  }
}

async function loadLists(): Promise<void> {
  const [w, b, p, bl] = await Promise.allSettled([
    api<Worker[]>(`/miners/${enc}/workers?limit=100`), api<Balance[]>(`/miners/${enc}/balances`),
    api<Payment[]>(`/miners/${enc}/payments?limit=50`), api<Block[]>(`/miners/${enc}/blocks?limit=50`),
  ]);
  if (w.status === "fulfilled") workers = w.value;
  if (b.status === "fulfilled") balances = b.value;
  if (p.status === "fulfilled") payments = p.value;
  if (bl.status === "fulfilled") blocks = bl.value;
}

async function loadChart(): Promise<void> {
  const s = await api<Series>(`/miners/${enc}/hashrate?range=${range}`);
  chart.set(s.points.map((p) => p.t), s.points.map((p) => p.hashrate));
}

async function refresh(): Promise<void> {
  await Promise.all([loadMiner(), loadLists(), loadChart().catch((e) => showError("error", e))]);
  render();
}

// ---- live: the miner push carries the headline figures; lists and chart follow at most every 10 s (a push
// inside those 10 s schedules one refresh at their end, so the last change is never missed)
let lastSlow = 0, pending: number | undefined;
function slowRefresh(): void {
  const wait = lastSlow + 10000 - Date.now();
  if (wait > 0) { pending ??= window.setTimeout(() => { pending = undefined; slowRefresh(); }, wait); return; }
  lastSlow = Date.now();
  void Promise.all([loadLists(), loadChart()]).then(render).catch(() => undefined);
}
function onPush(push: { type: string; data: any }): void {
  if (push.type === "miner" && miner) {
    const d = push.data;
    miner = { ...miner, hashrate: d.hashrate, last_share: d.last_share ?? miner.last_share,
      shares: { ...miner.shares, accepted: d.shares_accepted, rejected: d.shares_rejected - miner.shares.stale } };
    render();
  } else if (push.type === "miner" && !miner) {
    void loadMiner().then(render);
  }
  slowRefresh();
}

// ---- the range buttons
document.querySelectorAll<HTMLButtonElement>("[data-range]").forEach((button) => {
  button.addEventListener("click", () => {
    range = button.dataset.range ?? "1h";
    document.querySelectorAll<HTMLButtonElement>("[data-range]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
    void loadChart().catch((e) => showError("error", e));
  });
});

setText("address", address);
setupLanguage(() => { chart.relabel(); render(); });
void refresh();
live([`miner:${address}`, "blocks"], onPush, liveState);
