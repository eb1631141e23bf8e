import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditCsv } from '../../../web/lib/audit-csv.js';
import type { AuditEntry } from '../../../contract/index.js';

const entry = (reason: string): AuditEntry =>
  ({
    env: 'test',
    seq: 1,
    at: Date.parse('2026-12-04T10:00:00Z'),
    actor: 'alice',
    action: 'advance',
    from: 'science',
    to: 'cutover',
    reason,
    evidence: { comparisons: 3 },
    controlVersion: 4,
    workflowId: 'w',
    runId: 'r',
  }) as AuditEntry;

describe('audit CSV export', () => {
  it('escapes cells a spreadsheet would run as formulas, and keeps the rest as written', () => {
    const reasons = ['=HYPERLINK("http://evil.example","click")', '+1+2', '-3', '@SUM(A1)', '\tTAB', 'bake done, gate met'];
    const csv = auditCsv(reasons.map(entry));
    const lines = csv.trim().split('\n');
    assert.equal(lines[0], 'at,env,seq,actor,action,from,to,reason,evidence,controlVersion,workflowId,runId');
    assert.equal(lines.length, 1 + reasons.length);
    // No cell (quoted or not) starts with a formula character.
    for (const line of lines) assert.doesNotMatch(line, /(^|,)"?[=+\-@\t\r]/, line);
    assert.match(lines[1]!, /,"'=HYPERLINK\(""http:\/\/evil\.example"",""click""\)",/);
    assert.match(lines[2]!, /,'\+1\+2,/);
    assert.match(lines[3]!, /,'-3,/);
    assert.match(lines[4]!, /,'@SUM\(A1\),/);
    assert.match(lines[6]!, /^2026-12-04T10:00:00\.000Z,test,1,alice,advance,science,cutover,"bake done, gate met","\{""comparisons"":3\}",4,w,r$/);
  });
});
