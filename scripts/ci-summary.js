// Prints the one-line summary CI reads ("N passed, N failed") from jest's JSON report.
// A missing report (the suite never ran: no engine, a type error) counts as one failure.
const fs = require('fs');
const [reportPath, status] = process.argv.slice(2);
let passed = 0;
let failed = 0;
try {
  const report = JSON.parse(fs.readFileSync(reportPath, 'utf8'));
  passed = report.numPassedTests;
  failed = report.numFailedTests + (report.numRuntimeErrorTestSuites || 0);
} catch {
  failed = 1;
}
if (status !== '0' && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
