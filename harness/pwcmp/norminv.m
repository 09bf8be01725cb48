function x = norminv(p, mu, sigma)
  % Shim: the normal quantile function.
  x = mu + sigma * sqrt(2) * erfinv(2 * p - 1);
end
