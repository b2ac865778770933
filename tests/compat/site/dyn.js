ran.push('dyn-src')
