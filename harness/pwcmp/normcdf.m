function p = normcdf(x, mu, sigma)
  % Shim (the statistics package is not installed): the normal distribution function.
  p = 0.5 * erfc(-(x - mu) ./ (sigma * sqrt(2)));
end
