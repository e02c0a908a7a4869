// The public API as the client speaks it: GraphQL with the session cookie, login, logout and the CSV import.
const CSRF = { "X-Karngar-CSRF": "1" };
let onSessionExpired = () => {};

/** The session is gone (expired or logged out elsewhere): the app shows the login page. */
export class SessionExpired extends Error {}

/** The request did not get an answer the client can use (network, server, or GraphQL errors). */
export class RequestFailed extends Error {
  constructor(kind, details = []) {
    super(kind);
    this.kind = kind;
    this.details = details;
  }
}

export function whenSessionExpires(handler) {
  onSessionExpired = handler;
}

async function send(url, init) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", ...init, headers: { ...CSRF, ...init.headers } });
  } catch {
    throw new RequestFailed("network");
  }
  if (response.status === 401) {
    onSessionExpired();
    throw new SessionExpired();
  }
  return response;
}

/** One GraphQL operation; resolves to its data, throws RequestFailed on any GraphQL error. */
export async function gql(query, variables = {}) {
  const response = await send("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok || !body) throw new RequestFailed("server");
  if (body.errors?.length) throw new RequestFailed("graphql", body.errors);
  return body.data;
}

/** Logs in; resolves to the user, or null for a wrong username or password. */
export async function logIn(username, password) {
  let response;
  try {
    response = await fetch("/auth/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", ...CSRF },
      body: JSON.stringify({ username, password }),
    });
  } catch {
    throw new RequestFailed("network");
  }
  if (response.status === 401) return null;
  if (!response.ok) throw new RequestFailed(response.status === 400 ? "invalid" : "server");
  return (await response.json()).user;
}

export async function logOut() {
  await fetch("/auth/logout", { method: "POST", credentials: "same-origin", headers: CSRF }).catch(() => null);
}

/** Sends a CSV file of returnees; resolves to the import report, or { error } when the file cannot be read. */
export async function importReturnees(file) {
  const response = await send("/web/imports", { method: "POST", headers: { "Content-Type": "text/csv" }, body: file });
  const body = await response.json().catch(() => null);
  if (response.ok && body) return body;
  if (body?.errors && response.status < 500) return { error: body.errors[0].message, status: response.status };
  throw new RequestFailed("server");
}
