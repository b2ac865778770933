window.asyncRan = 1;
