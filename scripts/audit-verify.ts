// Checks the audit log's hash chain and names the first broken entry. Exit 1 when broken.
import { loadConfig } from '../src/config.ts';
import { verifyAuditChain, sealAuditLog } from '../src/platform/audit/index.ts';
import { openDatabase } from '../src/platform/db/index.ts';

const config = loadConfig();
const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
try {
  if (process.argv.includes('--seal')) await sealAuditLog(database.db);
  const report = await verifyAuditChain(database.db);
  if (report.ok) {
    console.log(
      `Audit chain intact: ${report.checked} sealed entries checked, ${report.unsealed} not yet sealed.`,
    );
  } else {
    const b = report.firstBroken!;
    console.error(`Audit chain BROKEN at entry id ${b.id} (chain position ${b.chainPosition}): ${b.reason}.`);
    console.error(`${report.checked} entries before it are intact.`);
    process.exitCode = 1;
  }
} finally {
  await database.close();
}
