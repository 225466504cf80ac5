// ESLint (flat config) for the front end: `npm run lint`. The console is ES modules
// (console.js and console/); the widget is a classic script a host page loads, so it is parsed as
// one. The vendored libraries (static/vendor/, built by scripts/build-assets) are not ours to lint.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["supportbot/web/static/vendor/**", "node_modules/**"] },
  js.configs.recommended,
  {
    files: ["supportbot/web/static/console.js", "supportbot/web/static/console/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.browser }
  },
  {
    files: ["supportbot/web/static/widget.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "script", globals: globals.browser }
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.node }
  }
];
