// Every label of the pages, in English and Japanese (the seeds' languages). Elements carry
// data-i18n="key" (text), data-i18n-placeholder / data-i18n-label (placeholder, aria-label).
export type Lang = "en" | "ja";

const EN = {
  "nav.home": "Home", "nav.operator": "Operator", "lang.label": "Language",
  "home.title": "poolstream mining pool", "home.lookup": "Look up a miner", "home.address": "Payout address",
  "home.go": "Show my stats", "home.pool": "Pool now", "home.invalid": "That is not a valid address (20–100 letters and digits).",
  "stat.hashrate": "Pool hashrate (10 min)", "stat.miners": "Miners", "stat.workers": "Workers", "stat.blocks": "Blocks found",
  "miner.title": "Miner", "miner.hr10": "Hashrate (10 min)", "miner.hr24": "Hashrate (24 h)", "miner.workersOnline": "Workers online",
  "miner.accepted": "Shares accepted (24 h)", "miner.rejected": "Shares rejected (24 h)", "miner.balance": "Balance",
  "miner.pending": "Pending", "miner.paid": "Paid", "miner.lastShare": "Last share", "miner.chart": "Hashrate",
  "miner.range": "Chart range", "miner.workers": "Workers", "miner.rejects": "Rejected shares by reason",
  "miner.balances": "Balances per coin", "miner.payments": "Payments", "miner.blocks": "Blocks you shared in",
  "miner.account": "Your account (sign in needed)", "miner.threshold": "Payout threshold", "miner.tax": "Tax report",
  "miner.notFound": "No shares from this address yet.", "miner.badAddress": "Malformed address.",
  "col.name": "Name", "col.status": "Status", "col.hashrate": "Hashrate", "col.last": "Last share", "col.hardware": "Hardware",
  "col.accepted": "Accepted", "col.rejected": "Rejected", "col.reason": "Reason", "col.shares": "Shares", "col.coin": "Coin",
  "col.pending": "Pending", "col.mature": "Mature", "col.paid": "Paid", "col.amount": "Amount", "col.tx": "Transaction",
  "col.time": "Time", "col.height": "Height", "col.reward": "Reward", "col.effort": "Effort", "col.algorithm": "Algorithm",
  "col.miner": "Found by", "col.topic": "Topic", "col.count": "Count", "col.severity": "Severity", "col.kind": "Kind",
  "col.worker": "Worker", "col.class": "Class", "col.temp": "Avg. temperature", "col.power": "Power", "col.eff": "Efficiency",
  "col.ip": "IP", "col.until": "Until", "col.value": "Value", "col.agent": "Agent", "col.state": "State", "col.lag": "Lag",
  "status.online": "online", "status.offline": "offline", "none": "Nothing yet.",
  "live.connecting": "connecting…", "live.on": "live", "live.off": "offline — retrying",
  "auth.key": "API key", "auth.user": "Username", "auth.password": "Password", "auth.signIn": "Sign in", "auth.signOut": "Sign out",
  "auth.signedIn": "Signed in", "auth.required": "Sign in as an administrator to see the operator pages.",
  "auth.refused": "Refused: this account is not an administrator.", "auth.failed": "Sign-in failed",
  "form.coin": "Coin", "form.amount": "Amount (coin units)", "form.save": "Save", "form.year": "Year", "form.format": "Format",
  "form.fiat": "Fiat currency", "form.download": "Download tax report", "form.saved": "Saved",
  "op.title": "Operator", "op.pool": "Pool hashrate per algorithm", "op.blocks": "Blocks", "op.payouts": "Payouts",
  "op.alerts": "Open alerts", "op.fleet": "Hardware fleet", "op.stratum": "Stratum", "op.bans": "Banned IPs",
  "op.ingest": "Ingest", "op.lag": "Consumer lag", "op.dead": "Dead letters by reason", "op.broker": "Broker",
  "op.sharesPerS": "Shares per second", "op.rejectRate": "Rejection rate", "op.connections": "Connections",
  "op.jobs": "Jobs sent", "op.memory": "Broker memory", "op.memoryLimit": "Memory limit", "op.agents": "Agents",
  "op.miners": "Active miners (24 h)", "col.workers": "Workers (online / 24 h)", "col.address": "Address",
  "chart.time": "Time", "miner.you": "you", "miner.blocksNote": "Blocks found by this miner, and blocks whose reward was split to it (its shares in the PPLNS window), once settled.",
  "col.temperature": "Temperature", "col.tempMax": "hottest device", "col.credit": "Your credit", "col.share": "Your share",
  "col.threshold": "Your threshold", "col.effective": "Paid from",
  "auth.or": "or with an API key", "auth.notOwner": "This account does not own this address", "miner.thresholds": "Your payout thresholds", "form.basis": "Basis",
  "form.basisPayout": "payouts", "form.basisCredit": "credits", "form.downloaded": "Downloaded",
  "range.10m": "10 min", "range.1h": "1 h", "range.24h": "24 h", "range.30d": "30 d",
  "title.home": "Pool · poolstream", "title.miner": "Miner · poolstream", "title.operator": "Operator · poolstream",
} as const;

export type Key = keyof typeof EN;

const JA: Record<Key, string> = {
  "nav.home": "ホーム", "nav.operator": "運用者", "lang.label": "言語",
  "home.title": "poolstream マイニングプール", "home.lookup": "マイナーを検索", "home.address": "支払いアドレス",
  "home.go": "統計を表示", "home.pool": "プールの現況", "home.invalid": "有効なアドレスではありません（英数字 20〜100 文字）。",
  "stat.hashrate": "プールのハッシュレート（10 分）", "stat.miners": "マイナー数", "stat.workers": "ワーカー数", "stat.blocks": "発見ブロック数",
  "miner.title": "マイナー", "miner.hr10": "ハッシュレート（10 分）", "miner.hr24": "ハッシュレート（24 時間）", "miner.workersOnline": "稼働中のワーカー",
  "miner.accepted": "承認シェア（24 時間）", "miner.rejected": "拒否シェア（24 時間）", "miner.balance": "残高",
  "miner.pending": "保留中", "miner.paid": "支払済み", "miner.lastShare": "最終シェア", "miner.chart": "ハッシュレート",
  "miner.range": "グラフの期間", "miner.workers": "ワーカー", "miner.rejects": "理由別の拒否シェア",
  "miner.balances": "通貨別の残高", "miner.payments": "支払い履歴", "miner.blocks": "参加したブロック",
  "miner.account": "アカウント（ログインが必要）", "miner.threshold": "支払いしきい値", "miner.tax": "税務レポート",
  "miner.notFound": "このアドレスからのシェアはまだありません。", "miner.badAddress": "アドレスの形式が正しくありません。",
  "col.name": "名前", "col.status": "状態", "col.hashrate": "ハッシュレート", "col.last": "最終シェア", "col.hardware": "ハードウェア",
  "col.accepted": "承認", "col.rejected": "拒否", "col.reason": "理由", "col.shares": "シェア", "col.coin": "通貨",
  "col.pending": "保留中", "col.mature": "確定", "col.paid": "支払済み", "col.amount": "金額", "col.tx": "トランザクション",
  "col.time": "時刻", "col.height": "高さ", "col.reward": "報酬", "col.effort": "エフォート", "col.algorithm": "アルゴリズム",
  "col.miner": "発見者", "col.topic": "トピック", "col.count": "件数", "col.severity": "重大度", "col.kind": "種類",
  "col.worker": "ワーカー", "col.class": "分類", "col.temp": "平均温度", "col.power": "消費電力", "col.eff": "電力効率",
  "col.ip": "IP", "col.until": "期限", "col.value": "値", "col.agent": "エージェント", "col.state": "状態", "col.lag": "遅延",
  "status.online": "稼働中", "status.offline": "停止", "none": "まだありません。",
  "live.connecting": "接続中…", "live.on": "ライブ", "live.off": "切断 — 再接続中",
  "auth.key": "API キー", "auth.user": "ユーザー名", "auth.password": "パスワード", "auth.signIn": "ログイン", "auth.signOut": "ログアウト",
  "auth.signedIn": "ログイン済み", "auth.required": "運用者ページを見るには管理者としてログインしてください。",
  "auth.refused": "拒否されました：このアカウントは管理者ではありません。", "auth.failed": "ログインに失敗しました",
  "form.coin": "通貨", "form.amount": "金額（通貨単位）", "form.save": "保存", "form.year": "年", "form.format": "形式",
  "form.fiat": "法定通貨", "form.download": "税務レポートをダウンロード", "form.saved": "保存しました",
  "op.title": "運用者", "op.pool": "アルゴリズム別のプールハッシュレート", "op.blocks": "ブロック", "op.payouts": "支払い",
  "op.alerts": "未解決のアラート", "op.fleet": "ハードウェア", "op.stratum": "Stratum", "op.bans": "禁止中の IP",
  "op.ingest": "取り込み", "op.lag": "コンシューマー遅延", "op.dead": "理由別のデッドレター", "op.broker": "ブローカー",
  "op.sharesPerS": "毎秒シェア数", "op.rejectRate": "拒否率", "op.connections": "接続数",
  "op.jobs": "送信ジョブ数", "op.memory": "ブローカーのメモリ", "op.memoryLimit": "メモリ上限", "op.agents": "エージェント",
  "op.miners": "稼働中のマイナー（24 時間）", "col.workers": "ワーカー数（稼働中 / 24 時間）", "col.address": "アドレス",
  "chart.time": "時刻", "miner.you": "あなた", "miner.blocksNote": "このマイナーが発見したブロックと、報酬が配分されたブロック（PPLNS ウィンドウ内のシェア、精算後）。",
  "col.temperature": "温度", "col.tempMax": "最も高温のデバイス", "col.credit": "あなたの配分", "col.share": "あなたの割合",
  "col.threshold": "あなたのしきい値", "col.effective": "支払い開始額",
  "auth.or": "または API キーで", "auth.notOwner": "このアカウントはこのアドレスの所有者ではありません", "miner.thresholds": "あなたの支払いしきい値", "form.basis": "基準",
  "form.basisPayout": "支払い", "form.basisCredit": "配分", "form.downloaded": "ダウンロードしました",
  "range.10m": "10 分", "range.1h": "1 時間", "range.24h": "24 時間", "range.30d": "30 日",
  "title.home": "プール · poolstream", "title.miner": "マイナー · poolstream", "title.operator": "運用者 · poolstream",
};

const DICTS: Record<Lang, Record<Key, string>> = { en: EN, ja: JA };
const STORE = "poolstream.lang";

export function lang(): Lang {
  const saved = localStorage.getItem(STORE);
  if (saved === "en" || saved === "ja") return saved;
  return navigator.language.toLowerCase().startsWith("ja") ? "ja" : "en";
}

export function t(key: Key): string {
  return DICTS[lang()][key] ?? EN[key];
}

export function locale(): string {
  return lang() === "ja" ? "ja-JP" : "en-GB";
}

/** Apply the current language to every labelled element under `root`. */
export function translate(root: ParentNode = document): void {
  document.documentElement.lang = lang();
  root.querySelectorAll<HTMLElement>("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n as Key); });
  root.querySelectorAll<HTMLInputElement>("[data-i18n-placeholder]").forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder as Key);
  });
  root.querySelectorAll<HTMLElement>("[data-i18n-label]").forEach((el) => {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel as Key));
  });
  document.querySelectorAll<HTMLButtonElement>("[data-lang]").forEach((b) => {
    b.setAttribute("aria-pressed", String(b.dataset.lang === lang()));
  });
}

/** Wire the EN / 日本語 buttons; `onChange` re-renders what is not a static label (tables, numbers). */
export function setupLanguage(onChange: () => void): void {
  document.querySelectorAll<HTMLButtonElement>("[data-lang]").forEach((b) => {
    b.addEventListener("click", () => {
      localStorage.setItem(STORE, b.dataset.lang === "ja" ? "ja" : "en");
      translate();
      onChange();
    });
  });
  translate();
}
