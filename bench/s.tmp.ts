import { runStoreBench } from './store.js';
console.log(JSON.stringify(await runStoreBench((l) => console.error(l))));
