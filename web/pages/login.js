// Logging in with a username and password; the server answers with an HttpOnly session cookie.
import { logIn } from "../api.js";
import { append, h } from "../dom.js";
import { field, form, submitButton } from "../forms.js";
import { heading } from "../ui.js";

export function render(main, { expired, loggedIn }) {
  const login = form(null, async (values) => {
    const user = await logIn(values.username, login.elements.password.value);
    if (!user) {
      login.elements.password.value = "";
      return [{ field: ["password"], messageKey: "login.wrong" }];
    }
    await loggedIn();
    return [];
  },
    field("username", "login.username", { required: true, attrs: { autocomplete: "username", autocapitalize: "none", spellcheck: "false" } }),
    field("password", "login.password", { type: "password", required: true, attrs: { autocomplete: "current-password" } }),
    h("div", { class: "actions" }, submitButton("login.submit")),
  );
  append(main,
    heading("login.title"),
    expired ? h("p", { class: "note note-info", role: "status", i18n: "login.expired" }) : null,
    h("p", { i18n: "login.intro" }),
    login,
  );
}
