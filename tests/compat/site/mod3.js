import {hello} from './mod.js'; out('module-src', hello());
