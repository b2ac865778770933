ran.push('document.write')
