/** The dialect facts in the host bpftrace (see replay.ts). */
import { replayFacts } from './replay.js';

replayFacts('host');
