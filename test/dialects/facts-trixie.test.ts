/** The dialect facts in the trixie bpftrace (see replay.ts). */
import { replayFacts } from './replay.js';

replayFacts('trixie');
