out('defer', 'ran');
