"""The playground: a local web page that trains small networks live with glassnet."""
