import { checkCorpusOnBinary } from './golden-dialects-binary.js';

// The dialect corpus on the trixie bpftrace (golden-dialects-binary.ts says what is checked).
checkCorpusOnBinary('trixie');
