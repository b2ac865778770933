/* an empty script: the XHTML test page closes its <script/> with "/>" (tests/browser/site/xml-read.xhtml) */
