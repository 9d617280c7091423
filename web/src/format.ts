// Numbers and times as people read them, in the page's language.
import { locale, t } from "./i18n";

const UNITS = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s", "ZH/s"];

export function hashrate(h: number | null | undefined): string {
  if (h == null || !isFinite(h)) return "–";
  let i = 0, v = h;
  while (v >= 1000 && i < UNITS.length - 1) { v /= 1000; i++; }
  return `${v.toLocaleString(locale(), { maximumFractionDigits: 2 })} ${UNITS[i]}`;
}

export function num(n: number | null | undefined, digits = 0): string {
  return n == null ? "–" : n.toLocaleString(locale(), { maximumFractionDigits: digits });
}

export function time(iso: string | null | undefined): string {
  if (!iso) return "–";
  const d = new Date(iso);
  return isNaN(d.getTime()) || d.getUTCFullYear() < 1971 ? "–" : d.toLocaleString(locale());
}

export function bytes(n: number | null | undefined): string {
  if (n == null) return "–";
  return `${(n / 2 ** 20).toLocaleString(locale(), { maximumFractionDigits: 1 })} MiB`;
}

export function status(s: string): string {
  return s === "online" ? t("status.online") : s === "offline" ? t("status.offline") : s;
}
