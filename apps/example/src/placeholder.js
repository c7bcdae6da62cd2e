// Until the link checker lands, the demo says what it will do.
console.log(`roundtrip demo (coming next): a link checker that crawls a local multi-origin site
over createFetch(compose(new Transport(), leakTracker())) and reports broken links,
redirects, connection reuse per host and any leaked response bodies.`)
