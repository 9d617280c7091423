// The miner page's account box: sign in (username + password, or an API key; the key is kept for the tab),
// then read and set the address's payout thresholds and download its tax report. Every permission is the
// API's: only an admin or the owner of a participant with this address gets past NOT_FOUND.
import { api, ApiError, apiKey, request, setApiKey } from "./api";
import { byId, table } from "./dom";
import { t } from "./i18n";

interface Threshold { coin: string; amount_str: string; effective_str: string }

export function setupAccount(address: string): { render(): void } {
  const enc = encodeURIComponent(address);
  let thresholds: Threshold[] = [];

  const render = (): void => {
    table("thresholds", ["col.coin", "col.threshold", "col.effective"],
      thresholds.map((x) => [x.coin, x.amount_str, x.effective_str]));
  };
  const message = (error: unknown): string => {
    if (error instanceof ApiError && error.status === 404) return `${t("auth.notOwner")} (${error.message})`;
    return error instanceof Error ? error.message : String(error);
  };
  const load = async (): Promise<void> => {
    try {
      thresholds = await api<Threshold[]>(`/miners/${enc}/threshold`, { auth: true });
    } catch (e) {
      thresholds = [];
      byId("threshold-result").textContent = message(e);
    }
    render();
  };
  const show = (): void => {
    const signedIn = apiKey() !== null;
    byId("account-signin").hidden = signedIn;
    byId("account-tools").hidden = !signedIn;
    if (signedIn) void load();
  };
  const signedIn = (key: string | null): void => { byId("account-error").hidden = true; setApiKey(key); show(); };

  byId<HTMLFormElement>("account-login").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { username: byId<HTMLInputElement>("account-user").value,
                   password: byId<HTMLInputElement>("account-password").value };
    try {
      signedIn((await api<{ api_key: string }>("/auth/api-key", { method: "POST", body })).api_key);
    } catch (err) {
      const out = byId("account-error");
      out.hidden = false;
      out.textContent = `${t("auth.failed")}: ${err instanceof Error ? err.message : String(err)}`;
    }
  });
  byId<HTMLFormElement>("account-key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    signedIn(byId<HTMLInputElement>("account-key").value.trim() || null);
  });
  byId("account-signout").addEventListener("click", () => { setApiKey(null); show(); });

  byId<HTMLFormElement>("threshold-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const out = byId("threshold-result");
    try {
      const r = await api<Threshold>(`/miners/${enc}/threshold`, { method: "PUT", auth: true,
        body: { coin: byId<HTMLSelectElement>("threshold-coin").value, amount: byId<HTMLInputElement>("threshold-amount").value } });
      out.textContent = `${t("form.saved")}: ${r.amount_str} ${r.coin}`;
      await load();
    } catch (err) { out.textContent = message(err); }
  });

  byId<HTMLFormElement>("tax-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const out = byId("tax-result");
    const year = byId<HTMLInputElement>("tax-year").value, format = byId<HTMLSelectElement>("tax-format").value;
    const fiat = byId<HTMLInputElement>("tax-fiat").value.trim().toUpperCase();
    const basis = byId<HTMLSelectElement>("tax-basis").value;
    const query = new URLSearchParams({ year, address, format, fiat, basis });
    try {
      const response = await request(`/payouts/export/tax-report?${query}`, { auth: true });
      const name = `tax-report-${year}-${format}.csv`;
      const link = document.createElement("a");
      link.href = URL.createObjectURL(await response.blob());
      link.download = name;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
      out.textContent = `${t("form.downloaded")}: ${name}`;
    } catch (err) { out.textContent = message(err); }
  });

  byId<HTMLInputElement>("tax-year").value = String(new Date().getUTCFullYear());
  show();
  return { render };
}
