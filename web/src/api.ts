// The REST API (/api/v1, envelope {success, data, meta} / {success: false, error}) and the WebSocket /api/ws.
const KEY_STORE = "poolstream.apiKey";

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) { super(message); }
}

export function apiKey(): string | null { return sessionStorage.getItem(KEY_STORE); }
export function setApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_STORE, key); else sessionStorage.removeItem(KEY_STORE);
}

function headers(auth: boolean, json: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  const key = apiKey();
  if (auth && key) out.Authorization = `Bearer ${key}`;
  if (json) out["Content-Type"] = "application/json";
  return out;
}

export async function request(path: string, init: { method?: string; body?: unknown; auth?: boolean } = {}): Promise<Response> {
  const json = init.body !== undefined;
  const response = await fetch(`/api/v1${path}`, {
    method: init.method ?? "GET", headers: headers(init.auth ?? false, json),
    body: json ? JSON.stringify(init.body) : undefined,
  });
  if (!response.ok) {
    let code = `HTTP_${response.status}`, message = response.statusText;
    try {
      const body = await response.json();
      code = body.error?.code ?? code; message = body.error?.message ?? message;
    } catch { /* not JSON: keep the status line */ }
    throw new ApiError(response.status, code, message);
  }
  return response;
}

/** `data` of a successful answer. */
export async function api<T>(path: string, init: { method?: string; body?: unknown; auth?: boolean } = {}): Promise<T> {
  const body = await (await request(path, init)).json();
  return body.data as T;
}

export interface Push { type: string; data: any; channel?: string }

/** Subscribe to `channels` on /api/ws; reconnects with backoff. `onState` gets "on" / "off". */
export function live(channels: string[], onPush: (push: Push) => void, onState: (state: "on" | "off") => void,
                     auth = false): void {
  let delay = 1000;
  const open = (): void => {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/ws`);
    ws.onopen = () => {
      delay = 1000;
      const key = apiKey();
      if (auth && key) ws.send(JSON.stringify({ type: "auth", token: key }));
      ws.send(JSON.stringify({ type: "subscribe", channels }));
    };
    ws.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as Push;
      if (message.type === "subscribed") onState("on");
      else onPush(message);
    };
    ws.onclose = () => { onState("off"); setTimeout(open, delay); delay = Math.min(delay * 2, 30000); };
  };
  open();
}
