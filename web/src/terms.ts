// The values the API sends as codes (block and payout states, alert kinds and severities, reject reasons, agent
// states), as words of the page's language. A code this table does not know is shown as it is.
import { lang } from "./i18n";

const EN: Record<string, string> = {
  found: "found (pending)", confirmed: "confirmed", orphaned: "orphaned",
  planned: "planned", sent: "sent", failed: "failed", scheduled: "scheduled", manual: "manual",
  critical: "critical", warning: "warning", info: "info",
  worker_offline: "worker offline", hashrate_drop: "hashrate drop", over_temperature: "over temperature",
  fan_failure: "fan failure", unprofitable: "unprofitable",
  malformed: "malformed", bad_difficulty: "bad difficulty", time_skew: "time skew", bad_address: "bad address",
  bad_worker: "bad worker name", unknown_algorithm: "unknown algorithm", duplicate: "duplicate", stale: "stale",
  low_difficulty: "low difficulty", invalid: "invalid", unauthorized: "unauthorized",
  starting: "starting", running: "running", failing: "failing (retrying)", dead: "dead", stopped: "stopped",
  cpu: "CPU", gpu: "GPU", asic: "ASIC", unknown: "unknown",
};

const JA: Record<string, string> = {
  found: "発見（未確定）", confirmed: "確定", orphaned: "孤立",
  planned: "予定", sent: "送金済み", failed: "失敗", scheduled: "定期", manual: "手動",
  critical: "重大", warning: "警告", info: "情報",
  worker_offline: "ワーカー停止", hashrate_drop: "ハッシュレート低下", over_temperature: "温度超過",
  fan_failure: "ファン故障", unprofitable: "採算割れ",
  malformed: "不正な形式", bad_difficulty: "難易度が不正", time_skew: "時刻のずれ", bad_address: "アドレスが不正",
  bad_worker: "ワーカー名が不正", unknown_algorithm: "未対応のアルゴリズム", duplicate: "重複", stale: "期限切れ",
  low_difficulty: "難易度不足", invalid: "無効", unauthorized: "未認証",
  starting: "起動中", running: "実行中", failing: "失敗（再試行中）", dead: "停止（エラー）", stopped: "停止",
  cpu: "CPU", gpu: "GPU", asic: "ASIC", unknown: "不明",
};

/** `code` in the page's language (the code itself when unknown). */
export function term(code: string): string {
  return (lang() === "ja" ? JA : EN)[code] ?? code;
}
