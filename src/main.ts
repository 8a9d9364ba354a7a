import { main } from './cli.ts';

// `npm start`: web server and workers in one process on the embedded database, with demo data
// (the same as `kiln all`). For separate processes, see `kiln web`, `kiln worker`, `kiln migrate`.
process.exit(await main(['all', ...process.argv.slice(2)]));
