// Prints the one-line summary CI reads ("N passed, N failed") from jest's JSON reports: the one
// named, plus any given after the status, plus its sibling `<name>.cluster.json` when that exists
// (scripts/test.sh writes it when the cluster suite runs as part of `npm test`).
// A missing named report (the suite never ran: no engine, a type error) counts as one failure.
// Usage: ci-summary.js REPORT STATUS [MORE_REPORTS...]
const fs = require('fs');
const [reportPath, status, ...extra] = process.argv.slice(2);
const sibling = reportPath.replace(/\.json$/, '') + '.cluster.json';
const reports = [reportPath, ...extra];
if (sibling !== reportPath && !reports.includes(sibling) && fs.existsSync(sibling)) reports.push(sibling);
let passed = 0;
let failed = 0;
for (const path of reports) {
  try {
    const report = JSON.parse(fs.readFileSync(path, 'utf8'));
    passed += report.numPassedTests;
    failed += report.numFailedTests + (report.numRuntimeErrorTestSuites || 0);
  } catch {
    failed += 1;
  }
}
if (status !== '0' && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
